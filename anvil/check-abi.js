#!/usr/bin/env node
// Checks the committed artifacts' ABIs against the reference ABIs in /work/shared/abi-reference
// (override with ABI_REFERENCE_DIR=...).
//
// Every function / event / error of a double must either
//   * match a reference entry of the same kind with the same canonical signature
//     (name + input types); functions must also have the same output types and state mutability
//     (pure and view count as the same: both are read-only calls); events must have the same indexed flags;
//   * or have a name starting with "devnet" (double-only helpers).
// A constructor is refused (the doubles are placed with anvil_setCode).
// Differing parameter names are reported as notes only. Exit status 1 on any mismatch.
'use strict';

const fs = require('fs');
const path = require('path');

const ROOT = __dirname;
const REF_DIR = process.env.ABI_REFERENCE_DIR || path.resolve(ROOT, '..', '..', 'shared', 'abi-reference');
const ARTIFACTS_DIR = path.join(ROOT, 'artifacts');

// artifact -> reference files it may match (the network also answers the views, like the real
// proxy does through its fallback; v2.0.0 first, then the v1.2.0-only entries)
const REFERENCES = {
  DepositContract: ['DepositContract.json'],
  SSVToken: ['SSVToken.json'],
  SSVNetwork: [
    'v2.0.0/SSVNetwork.json',
    'v1.2.0/SSVNetwork.json',
    'v2.0.0/SSVNetworkViews.json',
    'v1.2.0/SSVNetworkViews.json',
  ],
  SSVNetworkViews: ['v2.0.0/SSVNetworkViews.json', 'v1.2.0/SSVNetworkViews.json'],
};

function loadAbi(file) {
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  return Array.isArray(json) ? json : json.abi;
}

function canonicalType(param) {
  if (param.type.startsWith('tuple')) {
    return '(' + param.components.map(canonicalType).join(',') + ')' + param.type.slice('tuple'.length);
  }
  return param.type;
}

function signature(entry) {
  return `${entry.name}(${(entry.inputs || []).map(canonicalType).join(',')})`;
}

function outputsOf(entry) {
  return (entry.outputs || []).map(canonicalType).join(',');
}

function indexedOf(entry) {
  return (entry.inputs || []).map((p) => (p.indexed ? 'i' : '-')).join('');
}

function paramNames(params) {
  const names = [];
  for (const p of params || []) {
    names.push(p.name || '');
    if (p.components) names.push('(' + paramNames(p.components).join(',') + ')');
  }
  return names;
}

function describe(entry) {
  if (entry.type === 'function') return `function ${signature(entry)} -> (${outputsOf(entry)}) ${entry.stateMutability}`;
  if (entry.type === 'event') return `event ${signature(entry)} indexed=[${indexedOf(entry)}]`;
  return `${entry.type} ${signature(entry)}`;
}

function checkArtifact(name, refFiles) {
  const problems = [];
  const notes = [];
  const artifactFile = path.join(ARTIFACTS_DIR, name + '.json');
  if (!fs.existsSync(artifactFile)) return { problems: [`missing artifact ${artifactFile}`], notes, stats: null };
  const abi = loadAbi(artifactFile);

  const refs = refFiles.map((f) => ({ file: f, abi: loadAbi(path.join(REF_DIR, f)) }));
  const stats = { matched: 0, devnet: 0, total: 0, byRef: {}, seen: new Set() };

  for (const entry of abi) {
    if (entry.type === 'constructor') {
      problems.push('has a constructor (the doubles must work when placed with anvil_setCode)');
      continue;
    }
    if (!['function', 'event', 'error'].includes(entry.type)) continue;
    stats.total++;
    if (entry.name.startsWith('devnet')) {
      stats.devnet++;
      continue;
    }

    const sig = signature(entry);
    const candidates = [];
    for (const ref of refs) {
      for (const r of ref.abi) {
        if (r.type === entry.type && r.name === entry.name && signature(r) === sig) candidates.push({ ref: ref.file, r });
      }
    }
    if (candidates.length === 0) {
      problems.push(`${describe(entry)}: no ${entry.type} with this signature in ${refFiles.join(', ')}`);
      continue;
    }

    let match = null;
    const why = [];
    for (const c of candidates) {
      if (entry.type === 'function') {
        if (outputsOf(c.r) !== outputsOf(entry)) {
          why.push(`${c.ref}: outputs (${outputsOf(c.r)})`);
          continue;
        }
        const refMut = c.r.stateMutability;
        const readOnly = (m) => m === 'pure' || m === 'view';
        const okMut = refMut === entry.stateMutability || (readOnly(refMut) && readOnly(entry.stateMutability));
        if (!okMut) {
          why.push(`${c.ref}: stateMutability ${refMut}`);
          continue;
        }
      } else if (entry.type === 'event') {
        if (indexedOf(c.r) !== indexedOf(entry) || !!c.r.anonymous !== !!entry.anonymous) {
          why.push(`${c.ref}: indexed=[${indexedOf(c.r)}]`);
          continue;
        }
      }
      match = c;
      break;
    }
    if (!match) {
      problems.push(`${describe(entry)}: signature found but reference differs (${why.join('; ')})`);
      continue;
    }

    stats.matched++;
    stats.seen.add(`${entry.type} ${sig}`);
    stats.byRef[match.ref] = (stats.byRef[match.ref] || 0) + 1;
    const ours = paramNames(entry.inputs).concat(paramNames(entry.outputs));
    const theirs = paramNames(match.r.inputs).concat(paramNames(match.r.outputs));
    if (ours.join('|') !== theirs.join('|')) {
      notes.push(`${sig}: parameter names [${ours.join(', ')}] vs ${match.ref} [${theirs.join(', ')}]`);
    }
  }

  // Reference functions the double does not provide (informational).
  const missing = new Set();
  for (const ref of refs) {
    for (const r of ref.abi) {
      if (r.type === 'function' && !stats.seen.has(`function ${signature(r)}`)) missing.add(signature(r));
    }
  }
  stats.missing = [...missing].sort();

  return { problems, notes, stats };
}

function main() {
  if (!fs.existsSync(REF_DIR)) {
    process.stderr.write(`check-abi.js: reference directory ${REF_DIR} not found (set ABI_REFERENCE_DIR)\n`);
    process.exit(2);
  }
  let failed = 0;
  for (const [name, refFiles] of Object.entries(REFERENCES)) {
    const { problems, notes, stats } = checkArtifact(name, refFiles);
    if (stats) {
      const per = Object.entries(stats.byRef)
        .map(([f, n]) => `${n} ${f}`)
        .join(', ');
      process.stdout.write(
        `${problems.length ? 'FAIL' : 'ok  '} ${name}: ${stats.total} entries, ${stats.matched} match a reference` +
          ` (${per || 'none'}), ${stats.devnet} devnet-only, ${problems.length} mismatch(es)\n`
      );
    } else {
      process.stdout.write(`FAIL ${name}\n`);
    }
    if (stats && stats.missing.length > 0) {
      process.stdout.write(`     not provided (${stats.missing.length}): ${stats.missing.join(' ')}\n`);
    }
    for (const p of problems) process.stdout.write(`     MISMATCH ${p}\n`);
    for (const n of notes) process.stdout.write(`     note: ${n}\n`);
    failed += problems.length;
  }
  if (failed > 0) {
    process.stdout.write(`check-abi.js: ${failed} mismatch(es)\n`);
    process.exit(1);
  }
  process.stdout.write('check-abi.js: all artifact ABI entries match the references\n');
}

main();
