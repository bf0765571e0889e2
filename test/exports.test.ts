/**
 * What the docs import from "statechart-conductor" is exported (docs/accounts.md's broker of your own
 * imported seven names the package did not have), and the error classes it names are one family.
 */
import { describe, expect, it } from "vitest";
import {
  AccountsConfigError,
  applyBrokerEvent,
  BrokerStoreError,
  brokerInputOf,
  brokerMachine,
  ConductorError,
  ConfigError,
  createBrokerStore,
  HostsConfigError,
  LaunchError,
  loadAccountsConfig,
  nextAvailableEta,
  OptionsError,
  parseAccountsConfig,
  parseRetryHint,
  persistsBrokerEvent,
  SessionError,
  syncEventOf,
} from "../src/index.js";

describe("the package's exports", () => {
  it("has the broker's machine, its input, and its state file's helpers (docs/accounts.md)", () => {
    const fns = [brokerInputOf, loadAccountsConfig, parseAccountsConfig, nextAvailableEta, parseRetryHint];
    const store = [createBrokerStore, syncEventOf, persistsBrokerEvent, applyBrokerEvent];
    for (const fn of [...fns, ...store]) expect(typeof fn, fn.name).toBe("function");
    expect(brokerMachine.id).toBe("broker");
  });

  it("has the error classes src/errors.ts names, each a ConductorError; the file errors ConfigErrors", () => {
    for (const cls of [ConfigError, OptionsError, SessionError, LaunchError, BrokerStoreError])
      expect(cls.prototype, cls.name).toBeInstanceOf(ConductorError);
    for (const cls of [AccountsConfigError, HostsConfigError, OptionsError])
      expect(cls.prototype, cls.name).toBeInstanceOf(ConfigError);
  });
});
