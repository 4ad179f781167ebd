// Launcher for the pinned Lodestar 1.5.1 of the ssv-agent devnet.
//
// Usage: node lodestar.mjs <lodestar CLI args...>   (e.g. `dev --genesisValidators 8 ...`)
//
// It does four things Lodestar's own bin cannot (the fourth is further down):
//  1. Preset overrides. EPOCHS_PER_ETH1_VOTING_PERIOD and MAX_SEED_LOOKAHEAD are preset values, which
//     no `--params.*` flag reaches; `setActivePreset` can change them, but only before any Lodestar
//     module has read the preset, hence the dynamic imports below.
//  2. A `Promise.withResolvers` polyfill: a newer transitive dependency (it-queue via mortice) calls
//     it and Node 20 lacks it.
//  3. A check that the eth1-tracker patch (patches/) is really installed when its knobs are set,
//     so a stale node_modules fails loudly instead of silently taking minutes longer.
//
// Environment (names must not start with LODESTAR_: Lodestar's yargs reads those as CLI args):
//   SSV_DEVNET_EPOCHS_PER_ETH1_VOTING_PERIOD, SSV_DEVNET_MAX_SEED_LOOKAHEAD  preset overrides
//   SSV_DEVNET_SHARD_COMMITTEE_PERIOD, SSV_DEVNET_MIN_VALIDATOR_WITHDRAWABILITY_DELAY  the preset
//                                                    copies of these config values (see below)
//   SSV_DEVNET_ETH1_UPDATE_MS, SSV_DEVNET_ETH1_MIN_FOLLOW                   read by the patch
//   SSV_DEVNET_SLOT_IMPORT_TOLERANCE                 read by the patch (sync state of a single node)
//   SSV_DEVNET_STOP_TIMEOUT_MS                       longest wait for the node to close on a signal

import {readFileSync, realpathSync} from "node:fs";
import {dirname, join} from "node:path";
import {fileURLToPath, pathToFileURL} from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

function fail(message) {
  process.stderr.write(`lodestar.mjs: ${message}\n`);
  process.exit(2);
}

// pnpm keeps every dependency next to its dependent under .pnpm/<pkg>/node_modules, and Node resolves
// symlinks to real paths, so these paths name the very module instances Lodestar itself loads.
let cliDir;
try {
  cliDir = realpathSync(join(here, "node_modules", "@chainsafe", "lodestar"));
} catch {
  fail(`Lodestar is not installed under ${here}/node_modules: run scripts/install-lodestar.sh`);
}
const scopeDir = join(cliDir, "..", "..", "@lodestar");

function realModule(pkg, file) {
  try {
    return realpathSync(join(scopeDir, pkg, file));
  } catch {
    fail(`@lodestar/${pkg} (${file}) is missing next to @chainsafe/lodestar: run scripts/install-lodestar.sh`);
  }
}

function positiveIntEnv(name) {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) fail(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

if (process.env.SSV_DEVNET_ETH1_UPDATE_MS || process.env.SSV_DEVNET_ETH1_MIN_FOLLOW) {
  positiveIntEnv("SSV_DEVNET_ETH1_UPDATE_MS");
  positiveIntEnv("SSV_DEVNET_ETH1_MIN_FOLLOW");
  const tracker = realModule("beacon-node", join("lib", "eth1", "eth1DepositDataTracker.js"));
  if (!readFileSync(tracker, "utf8").includes("SSV_DEVNET_ETH1_MIN_FOLLOW")) {
    fail(`the eth1 tracker patch is not applied in ${tracker}: run scripts/install-lodestar.sh`);
  }
}
if (process.env.SSV_DEVNET_SLOT_IMPORT_TOLERANCE) {
  positiveIntEnv("SSV_DEVNET_SLOT_IMPORT_TOLERANCE");
  const sync = realModule("beacon-node", join("lib", "sync", "sync.js"));
  if (!readFileSync(sync, "utf8").includes("SSV_DEVNET_SLOT_IMPORT_TOLERANCE")) {
    fail(`the sync tolerance patch is not applied in ${sync}: run scripts/install-lodestar.sh`);
  }
}

const presetOverrides = {};
const votingPeriod = positiveIntEnv("SSV_DEVNET_EPOCHS_PER_ETH1_VOTING_PERIOD");
if (votingPeriod !== undefined) presetOverrides.EPOCHS_PER_ETH1_VOTING_PERIOD = votingPeriod;
const seedLookahead = positiveIntEnv("SSV_DEVNET_MAX_SEED_LOOKAHEAD");
if (seedLookahead !== undefined) presetOverrides.MAX_SEED_LOOKAHEAD = seedLookahead;

// SHARD_COMMITTEE_PERIOD and MIN_VALIDATOR_WITHDRAWABILITY_DELAY are config values (the chain uses
// what `--params.*` sets), but Lodestar 1.5.1 also keeps a preset copy of them, and its
// /eth/v1/config/spec lets the preset copy win. The starter passes both with the same value.
const shardCommitteePeriod = positiveIntEnv("SSV_DEVNET_SHARD_COMMITTEE_PERIOD");
if (shardCommitteePeriod !== undefined) presetOverrides.SHARD_COMMITTEE_PERIOD = shardCommitteePeriod;
const withdrawabilityDelay = positiveIntEnv("SSV_DEVNET_MIN_VALIDATOR_WITHDRAWABILITY_DELAY");
if (withdrawabilityDelay !== undefined) presetOverrides.MIN_VALIDATOR_WITHDRAWABILITY_DELAY = withdrawabilityDelay;

const {setActivePreset} = await import(pathToFileURL(realModule("params", join("lib", "setPreset.js"))).href);
// `lodestar dev` runs the minimal preset; the overrides only shorten its eth1 voting and seed lookahead.
setActivePreset("minimal", presetOverrides);
// setActivePreset changes the constants Lodestar computes with, but /eth/v1/config/spec renders the
// preset object itself, which would keep reporting the unmodified values; writing the overrides
// into that object (not frozen, and not yet read: @lodestar/params' index has not loaded) makes
// the API report what the chain runs, so clients' ETAs use the real lookahead and delays.
const {minimalPreset} = await import(pathToFileURL(realModule("params", join("lib", "presets", "minimal.js"))).href);
Object.assign(minimalPreset, presetOverrides);

if (typeof Promise.withResolvers !== "function") {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return {promise, resolve, reject};
  };
}

// 4. A clean exit on SIGTERM/SIGINT. Lodestar 1.5.1 closes the node (network, REST API, chain, DB)
// but then keeps handles open (its eth1 loop logs "Database is not open") and never exits. With
// `--attachToGlobalThis true` the node is `globalThis.bn`; once its status is "closed" everything
// worth keeping is on disk, so the process exits 0. A node that does not close in time exits 1.
const stopTimeoutMs = positiveIntEnv("SSV_DEVNET_STOP_TIMEOUT_MS") ?? 5_000;
let stopping = false;
function exitWhenClosed() {
  if (stopping) return;
  stopping = true;
  const deadline = Date.now() + stopTimeoutMs;
  const poll = setInterval(() => {
    if (globalThis.bn?.status === "closed") {
      clearInterval(poll);
      process.stderr.write("lodestar.mjs: beacon node closed, exiting\n");
      // A moment for the validator client's own abort handlers, which need no I/O.
      setTimeout(() => process.exit(0), 200);
    } else if (Date.now() > deadline) {
      clearInterval(poll);
      process.stderr.write(`lodestar.mjs: beacon node not closed ${stopTimeoutMs} ms after the signal, exiting\n`);
      process.exit(1);
    }
  }, 100);
}
process.on("SIGTERM", exitWhenClosed);
process.on("SIGINT", exitWhenClosed);

// Lodestar's CLI entry parses process.argv itself.
await import(pathToFileURL(join(cliDir, "lib", "index.js")).href);
