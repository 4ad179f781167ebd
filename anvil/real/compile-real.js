#!/usr/bin/env node
// Builds the REAL SSV Network contracts (not the project's doubles) from the read-only archives in
// ../shared/peers/ssv-network, for the devnet's real-contract tier (src/devnet/real).
//
//   node real/compile-real.js [--peer DIR] [--out DIR] [--force]
//
// 1. verifies every archive against the peer folder's SHA256SUMS;
// 2. extracts each archive into <out>/<first 12 hex of its sha256>/src (nothing goes into the repo);
// 3. compiles what a deployment needs with the settings of the peer README / hardhat configs, using
//    the compilers and OpenZeppelin 4.9.6 pinned in anvil/package.json;
// 4. writes <out>/<key>/<Contract>.json = {abi, bytecode, deployedBytecode, source, compiler} and,
//    last, <out>/<key>/manifest.json. A rerun finds the manifest with the same settings and does nothing.
//
// Defaults: --peer <repo>/../shared/peers/ssv-network, --out <repo>/.cache/real-ssv.
// Compile jobs run in parallel child processes (solc-js is single-threaded; REAL_SSV_JOBS, default 2).
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync, fork } = require('child_process');

const ANVIL = path.resolve(__dirname, '..');
const REPO = path.resolve(ANVIL, '..');
// Bumped whenever the selection or the artifact format changes, so old caches are rebuilt.
const FORMAT = 1;

const OZ = {
  '@openzeppelin/contracts/': path.join(ANVIL, 'node_modules/@openzeppelin/contracts/'),
  '@openzeppelin/contracts-upgradeable/': path.join(ANVIL, 'node_modules/@openzeppelin/contracts-upgradeable/'),
};
const PROXY = '@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol';

const V2_SETTINGS = { viaIR: true, optimizer: { enabled: true, runs: 10000 }, evmVersion: 'cancun' };

// What each archive provides: its source root and the compile jobs (one compiler each).
// `contracts`: source file (relative to root, or an @openzeppelin path) -> contract names.
const ARCHIVES = {
  'ssv-network-v2.0.0-sdk-2349d5a.tar.gz': {
    version: 'v2.0.0',
    root: 'ssv-network-v2.0.0/hardhat/contracts',
    jobs: [
      {
        // One job, as hardhat compiles it (under viaIR the bytecode depends on the job's AST ids).
        compiler: 'solc-0.8.24',
        settings: V2_SETTINGS,
        contracts: {
          'SSVNetwork.sol': ['SSVNetwork'],
          'SSVNetworkViews.sol': ['SSVNetworkViews'],
          'modules/SSVOperators.sol': ['SSVOperators'],
          'modules/SSVClusters.sol': ['SSVClusters'],
          'modules/SSVDAO.sol': ['SSVDAO'],
          'modules/SSVViews.sol': ['SSVViews'],
          'modules/SSVOperatorsWhitelist.sol': ['SSVOperatorsWhitelist'],
          'modules/SSVStaking.sol': ['SSVStaking'],
          'modules/SSVValidators.sol': ['SSVValidators'],
          'upgrades/stage/hoodi/SSVNetworkSSVStakingUpgrade.sol': ['SSVNetworkSSVStakingUpgrade'],
          'token/CSSVToken.sol': ['CSSVToken'],
          [PROXY]: ['ERC1967Proxy'],
        },
      },
      {
        // token/SSVToken.sol has `pragma solidity 0.8.4`; hardhat compiles it with that solc's
        // defaults (optimizer off).
        compiler: 'solc-0.8.4',
        settings: { optimizer: { enabled: false, runs: 200 } },
        contracts: { 'token/SSVToken.sol': ['SSVToken'] },
      },
    ],
  },
  'ssv-network-v1.2.0-085874c.tar.gz': {
    version: 'v1.2.0',
    root: 'ssv-network-v1.2.0/contracts',
    jobs: [
      {
        compiler: 'solc-0.8.24',
        settings: { optimizer: { enabled: true, runs: 10000 }, evmVersion: 'cancun' },
        contracts: {
          'SSVNetwork.sol': ['SSVNetwork'],
          'SSVNetworkViews.sol': ['SSVNetworkViews'],
          'modules/SSVOperators.sol': ['SSVOperators'],
          'modules/SSVClusters.sol': ['SSVClusters'],
          'modules/SSVDAO.sol': ['SSVDAO'],
          'modules/SSVViews.sol': ['SSVViews'],
          'modules/SSVOperatorsWhitelist.sol': ['SSVOperatorsWhitelist'],
          [PROXY]: ['ERC1967Proxy'],
        },
      },
    ],
  },
};

function fail(msg) {
  process.stderr.write(`compile-real.js: ${msg}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  const a = { peer: path.resolve(REPO, '..', 'shared', 'peers', 'ssv-network'), out: path.join(REPO, '.cache', 'real-ssv'), force: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--peer') a.peer = path.resolve(argv[++i]);
    else if (argv[i] === '--out') a.out = path.resolve(argv[++i]);
    else if (argv[i] === '--force') a.force = true;
    else fail(`unknown argument ${argv[i]} (use --peer DIR, --out DIR, --force)`);
  }
  return a;
}

function sha256File(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

// name -> sha256 from SHA256SUMS, after checking every listed archive.
function verifySums(peer) {
  const sumsFile = path.join(peer, 'SHA256SUMS');
  if (!fs.existsSync(sumsFile)) fail(`${sumsFile} not found (the real contracts come from ../shared/peers/ssv-network; pass --peer DIR)`);
  const sums = {};
  for (const line of fs.readFileSync(sumsFile, 'utf8').split('\n')) {
    const m = line.trim().match(/^([0-9a-f]{64})\s+\*?(.+)$/);
    if (m) sums[m[2]] = m[1];
  }
  for (const name of Object.keys(ARCHIVES)) {
    if (!sums[name]) fail(`${sumsFile} does not list ${name}`);
    const file = path.join(peer, name);
    if (!fs.existsSync(file)) fail(`${file} not found`);
    const actual = sha256File(file);
    if (actual !== sums[name]) fail(`${file}: sha256 ${actual}, SHA256SUMS says ${sums[name]}`);
  }
  return sums;
}

function requireCompiler(name) {
  try {
    return require(name);
  } catch (e) {
    fail(`${name} is not installed: run \`cd anvil && npm ci\` (pinned in anvil/package.json)`);
  }
}

function checkDeps() {
  for (const [prefix, dir] of Object.entries(OZ)) {
    const pkg = path.join(dir, 'package.json');
    if (!fs.existsSync(pkg)) fail(`${prefix} is not installed: run \`cd anvil && npm ci\``);
    const v = JSON.parse(fs.readFileSync(pkg, 'utf8')).version;
    if (v !== '4.9.6') fail(`${prefix} is ${v}, expected 4.9.6: run \`cd anvil && npm ci\``);
  }
}

// The compiler's npm version (reading package.json is instant; loading solc-js takes a second).
function compilerVersion(name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(ANVIL, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch (_) {
    return fail(`${name} is not installed: run \`cd anvil && npm ci\` (pinned in anvil/package.json)`);
  }
}

function manifestFor(name, spec, sha) {
  const jobs = spec.jobs.map((j) => ({
    compiler: `${j.compiler} ${compilerVersion(j.compiler)}`,
    settings: j.settings,
    contracts: j.contracts,
  }));
  return { format: FORMAT, archive: name, sha256: sha, version: spec.version, root: spec.root, jobs };
}

function sameManifest(file, expected) {
  if (!fs.existsSync(file)) return false;
  try {
    const { builtAt, ...rest } = JSON.parse(fs.readFileSync(file, 'utf8'));
    return JSON.stringify(rest) === JSON.stringify(expected);
  } catch (_) {
    return false;
  }
}

// ---- child: one archive ---------------------------------------------------------------------

function compileJob(srcRoot, job) {
  const solc = requireCompiler(job.compiler);
  const resolve = (p) => {
    for (const [prefix, dir] of Object.entries(OZ)) if (p.startsWith(prefix)) return path.join(dir, p.slice(prefix.length));
    return path.join(srcRoot, p);
  };
  const sources = {};
  const outputSelection = {};
  for (const [file, names] of Object.entries(job.contracts)) {
    sources[file] = { content: fs.readFileSync(resolve(file), 'utf8') };
    outputSelection[file] = {};
    for (const n of names) outputSelection[file][n] = ['abi', 'evm.bytecode.object', 'evm.bytecode.linkReferences', 'evm.deployedBytecode.object'];
  }
  const input = { language: 'Solidity', sources, settings: { ...job.settings, outputSelection } };
  const findImports = (p) => {
    const full = resolve(p);
    return fs.existsSync(full) ? { contents: fs.readFileSync(full, 'utf8') } : { error: `file not found: ${p}` };
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
  const errors = (output.errors || []).filter((d) => d.severity === 'error');
  if (errors.length > 0) {
    throw new Error(errors.map((d) => d.formattedMessage || d.message).join('\n'));
  }
  const artifacts = {};
  for (const [file, names] of Object.entries(job.contracts)) {
    for (const n of names) {
      const c = output.contracts && output.contracts[file] && output.contracts[file][n];
      if (!c) throw new Error(`contract ${n} not found in ${file}`);
      if (Object.keys(c.evm.bytecode.linkReferences || {}).length > 0) throw new Error(`${n} needs linked libraries`);
      artifacts[n] = {
        abi: c.abi,
        bytecode: '0x' + c.evm.bytecode.object,
        deployedBytecode: '0x' + c.evm.deployedBytecode.object,
        source: file,
        compiler: solc.version(),
      };
    }
  }
  return artifacts;
}

function child(name, jobIndex, outDir) {
  const spec = ARCHIVES[name];
  const job = spec.jobs[jobIndex];
  const srcRoot = path.join(outDir, 'src', spec.root);
  const started = Date.now();
  const artifacts = compileJob(srcRoot, job);
  const written = [];
  for (const [n, a] of Object.entries(artifacts)) {
    fs.writeFileSync(path.join(outDir, n + '.json'), JSON.stringify(a, null, 2) + '\n');
    written.push(`${n} ${(a.deployedBytecode.length - 2) / 2} B`);
  }
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  process.stdout.write(`  ${spec.version} ${job.compiler} (${secs} s): ${written.join(', ')}\n`);
}

// ---- parent ---------------------------------------------------------------------------------

function extract(archive, outDir) {
  const src = path.join(outDir, 'src');
  fs.rmSync(src, { recursive: true, force: true });
  fs.mkdirSync(src, { recursive: true });
  execFileSync('tar', ['-xzf', archive, '-C', src], { stdio: 'inherit' });
}

function runChild(name, jobIndex, outDir) {
  return new Promise((resolve, reject) => {
    const p = fork(__filename, ['--child', name, String(jobIndex), outDir], { stdio: 'inherit' });
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${name}: compiler process exited with ${code}`))));
  });
}

// Runs `tasks` (functions returning promises) at most `limit` at a time, in order.
async function pool(tasks, limit) {
  const queue = tasks.slice();
  const worker = async () => {
    while (queue.length > 0) await queue.shift()();
  };
  await Promise.all(Array.from({ length: Math.min(limit, queue.length) }, worker));
}

async function main() {
  if (process.argv[2] === '--child') {
    try {
      child(process.argv[3], Number(process.argv[4]), process.argv[5]);
    } catch (e) {
      process.stderr.write(`compile-real.js: ${process.argv[3]}: ${e.message}\n`);
      process.exit(1);
    }
    return;
  }
  const args = parseArgs(process.argv.slice(2));
  const started = Date.now();
  checkDeps();
  const sums = verifySums(args.peer);
  const todo = [];
  for (const [name, spec] of Object.entries(ARCHIVES)) {
    const key = sums[name].slice(0, 12);
    const outDir = path.join(args.out, key);
    const manifest = manifestFor(name, spec, sums[name]);
    const manifestFile = path.join(outDir, 'manifest.json');
    if (!args.force && sameManifest(manifestFile, manifest)) {
      process.stdout.write(`${spec.version} (${name}): up to date in ${path.relative(process.cwd(), outDir) || outDir}\n`);
      continue;
    }
    fs.rmSync(manifestFile, { force: true });
    fs.mkdirSync(outDir, { recursive: true });
    extract(path.join(args.peer, name), outDir);
    process.stdout.write(`${spec.version} (${name}): compiling into ${outDir}\n`);
    todo.push({ name, outDir, manifest, manifestFile });
  }
  // Slowest jobs first; REAL_SSV_JOBS bounds the parallel compiler processes (default 2).
  const limit = Math.max(1, Number(process.env.REAL_SSV_JOBS) || Math.min(2, os.cpus().length));
  const tasks = [];
  for (const t of todo) ARCHIVES[t.name].jobs.forEach((_, i) => tasks.push(() => runChild(t.name, i, t.outDir)));
  try {
    await pool(tasks, limit);
  } catch (e) {
    fail(e.message);
  }
  for (const t of todo) {
    // Written last: its presence means every artifact of the archive is complete.
    fs.writeFileSync(t.manifestFile, JSON.stringify({ ...t.manifest, builtAt: new Date().toISOString() }, null, 2) + '\n');
  }
  process.stdout.write(`compile-real.js: done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

main();
