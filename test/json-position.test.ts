/** jsonErrorOffset: where a config file's JSON first goes wrong (src/json-position.ts). */
import { describe, expect, it } from "vitest";
import { jsonErrorOffset } from "../src/json-position.js";

describe("jsonErrorOffset", () => {
  it("finds nothing wrong in what JSON.parse takes", () => {
    for (const ok of [
      '{"a":[1,-2.5e3,true,false,null,"x\\u00e9\\n"],"b":{}}',
      " [ ] ",
      '"s"',
      "0",
      '{"k":{"k":[[]]}}',
    ]) {
      expect(() => JSON.parse(ok)).not.toThrow();
      expect(jsonErrorOffset(ok)).toBeNull();
    }
  });

  it("points at the first offending character, as a person would look for it", () => {
    const cases: Array<[string, string]> = [
      ['{"a": [1, 2,]}', "]"], // trailing comma in an array
      ['{"a": 1,}', "}"], // trailing comma in an object
      ["{a: 1}", "a"], // unquoted key
      ['{"a" 1}', "1"], // missing colon
      ["[1 2]", "2"], // missing comma
      ['{"a": tru}', "t"], // a bad literal: its start
      ['{"a": 01}', "1"], // a leading zero ends the number; what follows is wrong
      ['["\\x"]', "x"], // a bad escape
      ["[1]]", "]"], // text after the value
    ];
    for (const [text, at] of cases) {
      expect(() => JSON.parse(text)).toThrow();
      const offset = jsonErrorOffset(text);
      expect(offset, text).not.toBeNull();
      expect(text[offset as number], text).toBe(at);
    }
    // Cut off: the end of the text.
    expect(jsonErrorOffset('{"a": [1,')).toBe(9);
    expect(jsonErrorOffset('{"a": "open')).toBe(11);
  });
});
