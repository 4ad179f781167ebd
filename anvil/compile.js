#!/usr/bin/env node
// Compiles anvil/contracts/*.sol with the pinned solc-js (package.json) and writes
// anvil/artifacts/<Contract>.json = {"abi": [...], "bytecode": "0x..", "deployedBytecode": "0x.."}
// for the deployable doubles.
//
//   node compile.js          compile and (re)write the artifacts
//   node compile.js --check  compile in memory only; exit 1 and name every artifact that is
//                            missing or differs from what the sources produce (source/artifact drift)
//
// Output is reproducible: fixed compiler settings, no metadata hash / CBOR in the bytecode,
// object keys sorted, 2-space JSON with a trailing newline.
'use strict';

const fs = require('fs');
const path = require('path');
const solc = require('solc');

const ROOT = __dirname;
const CONTRACTS_DIR = path.join(ROOT, 'contracts');
const ARTIFACTS_DIR = path.join(ROOT, 'artifacts');
const EXPECTED_SOLC = '0.8.37';

// Contract name -> source file. Only these get an artifact.
const DEPLOYABLE = {
  DepositContract: 'DepositContract.sol',
  Multicall3: 'Multicall3.sol',
  SSVToken: 'SSVToken.sol',
  SSVNetwork: 'SSVNetwork.sol',
  SSVNetworkViews: 'SSVNetworkViews.sol',
};

function fail(msg) {
  process.stderr.write(`compile.js: ${msg}\n`);
  process.exit(1);
}

function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out = {};
    for (const key of Object.keys(value).sort()) out[key] = sortKeys(value[key]);
    return out;
  }
  return value;
}

function compile() {
  const version = solc.version();
  if (!version.startsWith(EXPECTED_SOLC + '+')) {
    fail(`expected solc ${EXPECTED_SOLC}, got ${version} (run npm ci in anvil/)`);
  }

  const files = fs.readdirSync(CONTRACTS_DIR).filter((f) => f.endsWith('.sol')).sort();
  const sources = {};
  for (const f of files) {
    sources[f] = { content: fs.readFileSync(path.join(CONTRACTS_DIR, f), 'utf8') };
  }

  const input = {
    language: 'Solidity',
    sources,
    settings: {
      optimizer: { enabled: true, runs: 200 },
      viaIR: true,
      evmVersion: 'cancun',
      metadata: { bytecodeHash: 'none', appendCBOR: false },
      outputSelection: {
        '*': {
          '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object', 'evm.deployedBytecode.immutableReferences'],
        },
      },
    },
  };

  // Imports are resolved relative to contracts/ (sources are keyed by bare file name).
  const findImports = (p) => {
    const full = path.join(CONTRACTS_DIR, p);
    if (fs.existsSync(full)) return { contents: fs.readFileSync(full, 'utf8') };
    return { error: `file not found: ${p}` };
  };

  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));

  let errors = 0;
  for (const d of output.errors || []) {
    if (d.severity === 'error') {
      errors++;
      process.stderr.write((d.formattedMessage || d.message) + '\n');
    } else {
      const loc = d.sourceLocation ? ` (${d.sourceLocation.file}@${d.sourceLocation.start})` : '';
      process.stderr.write(`${d.severity}: ${d.message}${loc}\n`);
    }
  }
  if (errors > 0) fail(`${errors} error(s) from solc ${version}`);

  const artifacts = {};
  for (const [name, file] of Object.entries(DEPLOYABLE)) {
    const c = output.contracts && output.contracts[file] && output.contracts[file][name];
    if (!c) fail(`contract ${name} not found in ${file}`);
    // anvil_setCode places only the runtime code: a constructor or an immutable would be lost.
    if (c.abi.some((e) => e.type === 'constructor')) fail(`${name} has a constructor (not allowed: anvil_setCode skips it)`);
    if (Object.keys(c.evm.deployedBytecode.immutableReferences || {}).length > 0) {
      fail(`${name} uses immutables (not allowed: anvil_setCode would leave them zero)`);
    }
    const artifact = {
      abi: c.abi,
      bytecode: '0x' + c.evm.bytecode.object,
      deployedBytecode: '0x' + c.evm.deployedBytecode.object,
    };
    artifacts[name] = JSON.stringify(sortKeys(artifact), null, 2) + '\n';
  }
  return { version, artifacts };
}

function main() {
  const check = process.argv.includes('--check');
  const { version, artifacts } = compile();

  if (check) {
    const drift = [];
    for (const [name, text] of Object.entries(artifacts)) {
      const file = path.join(ARTIFACTS_DIR, name + '.json');
      const rel = path.relative(process.cwd(), file) || file;
      if (!fs.existsSync(file)) drift.push(`${rel} (missing)`);
      else if (fs.readFileSync(file, 'utf8') !== text) drift.push(`${rel} (differs from contracts/${DEPLOYABLE[name]})`);
    }
    if (drift.length > 0) {
      for (const d of drift) process.stderr.write(`artifact out of date: ${d}\n`);
      fail(`${drift.length} artifact(s) out of date; run "node compile.js" in anvil/ and commit`);
    }
    process.stdout.write(`compile.js --check: ${Object.keys(artifacts).length} artifacts match the sources (solc ${version})\n`);
    return;
  }

  fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
  for (const [name, text] of Object.entries(artifacts)) {
    fs.writeFileSync(path.join(ARTIFACTS_DIR, name + '.json'), text);
    const runtime = JSON.parse(text).deployedBytecode.length / 2 - 1;
    const note = runtime > 24576 ? ' (above the EIP-170 limit: deploy with anvil --disable-code-size-limit, or use anvil_setCode)' : '';
    process.stdout.write(`wrote artifacts/${name}.json: runtime ${runtime} bytes${note}\n`);
  }
  process.stdout.write(`solc ${version}\n`);
}

main();
