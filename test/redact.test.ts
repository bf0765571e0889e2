/**
 * The redactor, by a table of shapes secrets take in argv and strings (issue 12, item 7). Every row
 * names the secret that must be gone and, where it matters, what must stay readable.
 */
import { describe, expect, it } from "vitest";
import { isSecretName, redactArgv, redactString } from "../src/redact.js";

describe("redactArgv: one element at a time, by shape", () => {
  const rows: { shape: string; argv: string[]; want: string[] }[] = [
    { shape: "--k v", argv: ["--api-key", "S1"], want: ["--api-key", "***"] },
    { shape: "--k=v", argv: ["--api-key=S1"], want: ["--api-key=***"] },
    { shape: "--*token", argv: ["--github-token", "S1"], want: ["--github-token", "***"] },
    { shape: "--*secret=", argv: ["--client-secret=S1"], want: ["--client-secret=***"] },
    { shape: "--password", argv: ["--password", "S1"], want: ["--password", "***"] },
    { shape: "camelCase flag", argv: ["--apiKey", "S1"], want: ["--apiKey", "***"] },
    { shape: "flag without value", argv: ["--token", "--verbose"], want: ["--token", "--verbose"] },
    { shape: "ENV=v", argv: ["OPENAI_API_KEY=S1"], want: ["OPENAI_API_KEY=***"] },
    { shape: "URL with password", argv: ["postgres://u:S1@db:5432/x"], want: ["postgres://u:***@db:5432/x"] },
    { shape: "--url=URL", argv: ["--url=https://u:S1@h/x"], want: ["--url=https://u:***@h/x"] },
    {
      shape: "URL with token user",
      argv: ["https://ghp_S1S1S1S1S1S1S1S1S1S1S1S1@github.com/o/r"],
      want: ["https://***@github.com/o/r"],
    },
    { shape: "query param", argv: ["https://h/x?api_key=S1&page=2"], want: ["https://h/x?api_key=***&page=2"] },
    { shape: "header element", argv: ["-H", "X-Auth-Token: S1"], want: ["-H", "X-Auth-Token: ***"] },
    { shape: "bearer header", argv: ["-H", "Authorization: Bearer S1"], want: ["-H", "Authorization: ***"] },
    {
      shape: "header name then value",
      argv: ["-H", "Authorization", "Bearer S1"],
      want: ["-H", "Authorization", "***"],
    },
    { shape: "cookie header", argv: ["Cookie: sid=S1"], want: ["Cookie: ***"] },
    {
      shape: "header inside a shell string",
      argv: ["sh", "-c", "curl -H 'Authorization: Bearer S1' https://h"],
      want: ["sh", "-c", "curl -H 'Authorization: ***' https://h"],
    },
    {
      shape: "JSON secret field",
      argv: ['{"client_id":"app","client_secret":"S1"}'],
      want: ['{"client_id":"app","client_secret":"***"}'],
    },
    {
      shape: "claude --mcp-config env and args",
      argv: [
        "--mcp-config",
        JSON.stringify({
          mcpServers: {
            db: {
              command: "mcp-pg",
              args: ["--password", "S1", "postgres://u:S2@h/db"],
              env: { PGPASSWORD: "S3", MODE: "S4" },
            },
          },
        }),
      ],
      want: [
        "--mcp-config",
        JSON.stringify({
          mcpServers: {
            db: {
              command: "mcp-pg",
              args: ["--password", "***", "postgres://u:***@h/db"],
              env: { PGPASSWORD: "***", MODE: "***" },
            },
          },
        }),
      ],
    },
    {
      shape: "codex -c mcp_servers env",
      argv: ["-c", 'mcp_servers.db.env={ "MODE" = "S4", "PGPASSWORD" = "S3" }'],
      want: ["-c", 'mcp_servers.db.env={ "MODE" = "***", "PGPASSWORD" = "***" }'],
    },
    {
      shape: "codex -c mcp_servers args",
      argv: ["-c", 'mcp_servers.db.args=["--token","S1","postgres://u:S2@h"]'],
      want: ["-c", 'mcp_servers.db.args=["--token","***","postgres://u:***@h"]'],
    },
  ];

  it.each(rows)("$shape", ({ argv, want }) => {
    const out = redactArgv(argv);
    expect(out).toEqual(want);
    for (const s of ["S1", "S2", "S3", "S4"]) expect(out.join(" ")).not.toContain(s);
  });

  it("keeps what is not secret readable", () => {
    const argv = [
      "--model",
      "gpt-5",
      "--max-tokens",
      "100",
      "--keyboard",
      "us",
      "https://h/x?page=2",
      "--tokenizer=bpe",
    ];
    expect(redactArgv(argv)).toEqual(argv);
  });

  it("never mutates its input", () => {
    const argv = ["--api-key", "S1"];
    redactArgv(argv);
    expect(argv).toEqual(["--api-key", "S1"]);
  });
});

describe("literals (the prompt)", () => {
  it("a 1-character prompt masks that element only, never the character everywhere", () => {
    const out = redactArgv(["claude", "-p", "--model", "haiku", "--", "a"], { literals: ["a"] });
    expect(out).toEqual(["claude", "-p", "--model", "haiku", "--", "***"]);
  });

  it("a short prompt as a `--prompt=` value is masked as a value", () => {
    expect(redactArgv(["gemini", "--prompt=hi"], { literals: ["hi"] })).toEqual(["gemini", "--prompt=***"]);
  });

  it("a long prompt is masked wherever it appears", () => {
    const prompt = "my password is swordfish";
    const out = redactArgv(["claude", "--model", "m", "-p", prompt, `--note=${prompt}!`], { literals: [prompt, ""] });
    expect(out).toEqual(["claude", "--model", "m", "-p", "***", "--note=***!"]);
  });
});

describe("redactString and names", () => {
  it.each([
    ["connect to postgres://app:S1@db/x now", "connect to postgres://app:***@db/x now"],
    ["X-Auth-Token: S1", "X-Auth-Token: ***"],
    ['{"api_key": "S1", "model": "m"}', '{"api_key":"***","model":"m"}'],
    ["token=S1 page=2", "token=*** page=2"],
  ])("%s", (input, want) => {
    expect(redactString(input)).toBe(want);
  });

  it.each([
    ["--api-key", true],
    ["apiKey", true],
    ["CLIENT_SECRET", true],
    ["x-auth-token", true],
    ["--max-tokens", false],
    ["--keyboard", false],
    ["model", false],
  ])("isSecretName(%s) = %s", (name, want) => {
    expect(isSecretName(name)).toBe(want);
  });
});
