#!/usr/bin/env node
// Evaluates a batch of IAM requests with @cloud-copilot/iam-simulate, the independent evaluator
// that crates/trailseal-policy/tests/differential/ compares trailseal's policy engine with.
//
// Usage:
//   node scripts/differential/simulate.mjs [--modules DIR] < cases.jsonl > results.jsonl
//
// DIR is the directory holding node_modules/@cloud-copilot/iam-simulate (default: the
// TRAILSEAL_IAM_SIMULATE_DIR environment variable, else ~/.cache/trailseal-iam-simulate, where
// scripts/differential/setup.sh installs the pinned version).
//
// Input: one JSON object per line (blank lines ignored):
//   {"id": 7,
//    "policy": {...key policy...},            // the resource policy (KMS key policy)
//    "identityPolicies": [{...policy...}],    // the caller's IAM policies ([] for none)
//    "principal": "arn:aws:iam::111122223333:role/R" | "cloudtrail.amazonaws.com",
//    "action": "kms:Decrypt",
//    "resource": "arn:aws:kms:us-east-1:111122223333:key/...",
//    "resourceAccount": "111122223333",
//    "context": {"aws:SourceArn": "...", "kms:EncryptionContextKeys": ["a", "b"]}}
// A key missing from "context" is absent from the request: iam-simulate has no "unknown" value.
//
// Output: one JSON object per input line, in input order:
//   {"id": 7, "result": "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied",
//    "ignoredContextKeys": [...],      // keys iam-simulate dropped as not valid for the action
//    "encryptionContextWorkaround": [...]}  // present when the workaround below was used
//   {"id": 7, "error": {...}}         // iam-simulate refused the input (policy or request)
// The process exits 0 when every line was read and answered (errors included), 1 on bad input
// or when iam-simulate cannot be loaded (with a message naming setup.sh).

import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

function modulesDir() {
  const i = process.argv.indexOf('--modules');
  if (i !== -1 && process.argv[i + 1]) return process.argv[i + 1];
  return process.env.TRAILSEAL_IAM_SIMULATE_DIR || join(homedir(), '.cache', 'trailseal-iam-simulate');
}

async function loadSimulator(dir) {
  // ESM ignores NODE_PATH: resolve the package from DIR explicitly, then import it by file URL.
  const require = createRequire(join(dir, 'package.json'));
  let entry;
  try {
    entry = require.resolve('@cloud-copilot/iam-simulate');
  } catch (e) {
    throw new Error(
      `@cloud-copilot/iam-simulate is not installed in ${dir}: run scripts/differential/setup.sh (${e.message})`
    );
  }
  // require.resolve gives the CommonJS entry; the package's ESM build sits beside it.
  const esm = entry.replace(/[\\/]cjs[\\/]index\.js$/, '/esm/index.js');
  return import(pathToFileURL(esm).href);
}

// iam-simulate 0.1.173's runSimulation drops every `kms:EncryptionContext:<key>` context key as
// "not valid for the action": it declares the key as `kms:encryptioncontext:${encryptioncontextkey}`
// but only recognises variable keys whose variable follows a `/` (like `aws:PrincipalTag/x`).
// KMS documents these keys for the cryptographic operations, and CloudTrail's requests carry
// `kms:EncryptionContext:aws:cloudtrail:arn`, so dropping them would make the comparison
// meaningless for exactly the conditions trailseal cares about. When that happens (and only
// then) the case is evaluated again with runUnsafeSimulation, which takes the context as given:
// the keys runSimulation accepted, typed the way it types them, plus the dropped encryption
// context keys as single strings. runSimulation has already validated the policies by then.
const EC_PREFIX = 'kms:encryptioncontext:';
const EC_VARIABLE_KEY = 'kms:encryptioncontext:${encryptioncontextkey}';

function isEncryptionContextKey(key) {
  const k = key.toLowerCase();
  return k.startsWith(EC_PREFIX) && k.length > EC_PREFIX.length;
}

async function typedContext(sim, simulation, ignored) {
  const [service, action] = simulation.request.action.split(':');
  const allowed = new Set(
    await sim.allowedContextKeysForRequest(service, action, simulation.request.resource.resource, false)
  );
  const context = {};
  const recovered = [];
  const stillIgnored = [];
  for (const [key, value] of Object.entries(simulation.request.contextVariables)) {
    if (!ignored.includes(key)) {
      const type = await sim.typeForContextKey(key.toLowerCase());
      context[key] = sim.isConditionKeyArray(type) ? [value].flat() : Array.isArray(value) ? value[0] : value;
    } else if (isEncryptionContextKey(key) && allowed.has(EC_VARIABLE_KEY)) {
      context[key] = Array.isArray(value) ? value[0] : value;
      recovered.push(key);
    } else {
      stillIgnored.push(key);
    }
  }
  return { context, recovered, stillIgnored };
}

async function evaluate(sim, id, simulation) {
  const response = await sim.runSimulation(simulation, { simulationMode: 'Strict' });
  if (response.resultType === 'error') {
    return { id, error: response.errors };
  }
  if (response.resultType !== 'single') {
    // A wildcard resource: the comparison never sends one, so report it as an input problem.
    return { id, error: { message: `unexpected resultType ${response.resultType}` } };
  }
  const ignored = response.result.ignoredContextKeys ?? [];
  if (!ignored.some(isEncryptionContextKey)) {
    return { id, result: response.overallResult, ignoredContextKeys: ignored };
  }
  const { context, recovered, stillIgnored } = await typedContext(sim, simulation, ignored);
  if (recovered.length === 0) {
    return { id, result: response.overallResult, ignoredContextKeys: ignored };
  }
  const unsafe = {
    ...simulation,
    request: { ...simulation.request, contextVariables: context },
    // runUnsafeSimulation loads the resource policy without a name, which its analysis then
    // dereferences; a ValidatedPolicy (iam-policy's documented shape, already validated above)
    // carries one.
    resourcePolicy: {
      __validated: true,
      policyDocument: simulation.resourcePolicy,
      metadata: { name: 'key-policy' },
      errors: []
    }
  };
  // runUnsafeSimulation returns the decision itself (Allowed | ExplicitlyDenied | ImplicitlyDenied).
  const decision = sim.runUnsafeSimulation(unsafe, { simulationMode: 'Strict' });
  return {
    id,
    result: decision,
    ignoredContextKeys: stillIgnored,
    encryptionContextWorkaround: recovered
  };
}

async function main() {
  let sim;
  try {
    sim = await loadSimulator(modulesDir());
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  let lineNo = 0;
  for await (const line of lines) {
    lineNo += 1;
    if (line.trim() === '') continue;
    let c;
    try {
      c = JSON.parse(line);
    } catch (e) {
      console.error(`line ${lineNo}: not JSON: ${e.message}`);
      process.exit(1);
    }
    const simulation = {
      request: {
        principal: c.principal,
        action: c.action,
        resource: { resource: c.resource, accountId: c.resourceAccount },
        contextVariables: c.context ?? {}
      },
      identityPolicies: (c.identityPolicies ?? []).map((policy, i) => ({
        name: `identity-${i}`,
        policy
      })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: c.policy
    };
    let out;
    try {
      out = await evaluate(sim, c.id, simulation);
    } catch (e) {
      out = { id: c.id, error: { message: `iam-simulate threw: ${e.message}` } };
    }
    process.stdout.write(JSON.stringify(out) + '\n');
  }
}

await main();
