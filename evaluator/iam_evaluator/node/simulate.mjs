// Test-only IAM policy evaluator for the secretshare test suite: @cloud-copilot/iam-simulate behind a line protocol.
//
// One long-lived process per evaluator (evaluator/iam_evaluator/__init__.py starts it). It reads one JSON request per
// line on stdin and writes exactly one JSON answer per line on stdout, in order:
//
//   {"id": 1, "op": "version"}
//     -> {"id": 1, "ok": true, "version": "0.1.173"}
//   {"id": 2, "op": "simulate", "simulation": <iam-simulate Simulation>}
//     -> {"id": 2, "ok": true, "overallResult": "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied",
//         "engine": "runSimulation" | "authorize", "ignoredContextKeys": [...], "restoredContextKeys": [...],
//         "analysis": {...summary of the RequestAnalysis...}, "grants": [...], "denials": [...]}
//     -> {"id": 2, "ok": false, "kind": "validation", "errors": {...}}   (iam-simulate refused the input)
//     -> {"id": 2, "ok": false, "kind": "internal", "message": "..."}     (anything else)
//
// Workaround (iam-simulate 0.1.173): runSimulation() drops request context keys whose variable part follows a colon,
// such as kms:EncryptionContext:SecretARN (its key filter only understands `prefix/${var}` keys), so a key policy
// condition on the encryption context can never match. When runSimulation reports such a key as ignored although the
// action documents it (`kms:EncryptionContext:${EncryptionContextKey}`), the request is evaluated again by the same
// engine's authorize() (what runSimulation calls after validating), with the key kept. No policy logic lives here.
//
// Nothing here is shipped: AGPL-3.0 iam-simulate is a test dependency only.

import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'

import { loadPolicy } from '@cloud-copilot/iam-policy'
import { allowedContextKeysForRequest, getDenialReasons, getGrantReasons, runSimulation } from '@cloud-copilot/iam-simulate'

// Internals of the pinned version, for the workaround above (the package exports only its index).
const simulateIndex = import.meta.resolve('@cloud-copilot/iam-simulate')
const internal = async (path) => import(new URL(path, simulateIndex).href)
const { authorize } = await internal('./core_engine/CoreSimulatorEngine.js')
const { normalizeSimulationParameters } = await internal('./simulation_engine/simulationEngine.js')
const { AwsRequestImpl } = await internal('./request/request.js')
const { RequestContextImpl } = await internal('./requestContext.js')
const { DiscoveryContextKeyConstraints } = await internal('./context_keys/discoveryContextKeyConstraints.js')

const VERSION = JSON.parse(readFileSync(new URL('../../package.json', simulateIndex), 'utf8')).version

// What runSimulation adds to every RCP level (AWS's RCPFullAWSAccess), repeated for the authorize() path.
const DEFAULT_RCP = {
  name: 'arn:aws:organizations::aws:policy/resource_control_policy/p-RCPFullAWSAccess',
  policy: {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: '*', Action: '*', Resource: '*' }]
  }
}

/**
 * Context keys that runSimulation ignored but that the action documents through a `prefix:${Variable}` template.
 */
async function restorableContextKeys(simulation, ignored) {
  if (ignored.length === 0) {
    return []
  }
  const [service, action] = simulation.request.action.split(':')
  const allowed = await allowedContextKeysForRequest(service, action, simulation.request.resource.resource, false)
  const colonTemplates = allowed
    .filter((key) => key.includes('${'))
    .map((key) => key.slice(0, key.indexOf('${')))
    .filter((prefix) => prefix.endsWith(':'))
  return ignored.filter((key) => {
    const lower = key.toLowerCase()
    return colonTemplates.some((prefix) => lower.startsWith(prefix) && lower.length > prefix.length)
  })
}

/** Evaluate with iam-simulate's own authorize(), keeping the restored keys (the simulation is already validated). */
async function authorizeWithContext(simulation, restored) {
  const { validContextValues } = await normalizeSimulationParameters(simulation, undefined)
  const context = { ...validContextValues }
  for (const key of restored) {
    const value = simulation.request.contextVariables[key]
    if (typeof value !== 'string') {
      throw new Error(`context key ${key} takes one string, got ${JSON.stringify(value)}`)
    }
    context[key] = value
  }
  const load = ({ name, policy }) => loadPolicy(policy, { name })
  const orgPolicies = (levels, extra) =>
    levels.map((level) => ({
      orgIdentifier: level.orgIdentifier,
      policies: [...extra, ...level.policies].map(load)
    }))
  const { principal, action, resource } = simulation.request
  return authorize({
    request: new AwsRequestImpl(principal, resource, action, new RequestContextImpl(context), false),
    sessionPolicy: undefined,
    identityPolicies: simulation.identityPolicies.map(load),
    serviceControlPolicies: orgPolicies(simulation.serviceControlPolicies, []),
    resourceControlPolicies: orgPolicies(simulation.resourceControlPolicies, [DEFAULT_RCP]),
    resourcePolicy: simulation.resourcePolicy ? loadPolicy(simulation.resourcePolicy, {}) : undefined,
    permissionBoundaries: simulation.permissionBoundaryPolicies?.map(load),
    vpcEndpointPolicies: undefined,
    simulationParameters: {
      simulationMode: 'Strict',
      discoveryContextKeyConstraints: new DiscoveryContextKeyConstraints([])
    },
    serviceSettings: { s3: { blockPublicAccess: undefined } }
  })
}

const asList = (value) => (value === undefined ? [] : Array.isArray(value) ? value : [value])

/** One statement's analysis, reduced to what an assertion message needs. */
function statementSummary(analysis) {
  const explain = analysis.explain
  const conditions = asList(explain.conditions).map((condition) => ({
    operator: condition.operator,
    key: condition.conditionKeyValue,
    values: asList(condition.values).map((value) => value.value),
    matches: condition.matches,
    ...(condition.failedBecauseMissing ? { failedBecauseMissing: true } : {}),
    ...(condition.matchedBecauseMissing ? { matchedBecauseMissing: true } : {})
  }))
  return {
    policy: analysis.policyId ?? null,
    sid: analysis.statement.sid?.() ?? null,
    index: analysis.statement.index?.() ?? null,
    effect: explain.effect,
    matches: explain.matches,
    actionMatch: explain.actionMatch,
    resourceMatch: explain.resourceMatch,
    principalMatch: explain.principalMatch,
    conditionMatch: explain.conditionMatch,
    conditions
  }
}

function policyAnalysisSummary(analysis) {
  if (!analysis) {
    return null
  }
  return {
    result: analysis.result,
    allow: analysis.allowStatements.map(statementSummary),
    deny: analysis.denyStatements.map(statementSummary),
    unmatched: analysis.unmatchedStatements.map(statementSummary)
  }
}

function controlPolicySummary(analysis) {
  if (!analysis || analysis.ouAnalysis.length === 0) {
    return null
  }
  return {
    result: analysis.result,
    levels: analysis.ouAnalysis.map((level) => ({ orgIdentifier: level.orgIdentifier, ...policyAnalysisSummary(level) }))
  }
}

function analysisSummary(analysis) {
  return {
    result: analysis.result,
    sameAccount: analysis.sameAccount,
    blockedBy: analysis.blockedBy ?? [],
    identity: policyAnalysisSummary(analysis.identityAnalysis),
    resource: policyAnalysisSummary(analysis.resourceAnalysis),
    permissionBoundary: policyAnalysisSummary(analysis.permissionBoundaryAnalysis),
    scp: controlPolicySummary(analysis.scpAnalysis),
    rcp: controlPolicySummary(analysis.rcpAnalysis)
  }
}

async function simulate(simulation) {
  const resource = simulation.request.resource.resource
  // One concrete resource ARN, or "*" alone for an action that takes no resource (kms:CreateKey, tag:GetResources).
  if (resource !== '*' && resource.includes('*')) {
    return { ok: false, kind: 'validation', errors: { message: 'the harness evaluates one concrete resource ARN' } }
  }
  const response = await runSimulation(simulation, { simulationMode: 'Strict' })
  if (response.resultType === 'error') {
    return { ok: false, kind: 'validation', errors: response.errors }
  }
  if (response.resultType !== 'single') {
    return { ok: false, kind: 'internal', message: `unexpected resultType ${response.resultType}` }
  }
  const ignored = response.result.ignoredContextKeys ?? []
  const restored = await restorableContextKeys(simulation, ignored)
  let analysis = response.result.analysis
  let engine = 'runSimulation'
  if (restored.length > 0) {
    analysis = await authorizeWithContext(simulation, restored)
    engine = 'authorize'
  }
  return {
    ok: true,
    version: VERSION,
    overallResult: analysis.result,
    engine,
    ignoredContextKeys: ignored.filter((key) => !restored.includes(key)),
    restoredContextKeys: restored,
    analysis: analysisSummary(analysis),
    grants: getGrantReasons(analysis),
    denials: getDenialReasons(analysis)
  }
}

async function handle(message) {
  switch (message.op) {
    case 'version':
      return { ok: true, version: VERSION }
    case 'simulate':
      return simulate(message.simulation)
    default:
      return { ok: false, kind: 'internal', message: `unknown op ${JSON.stringify(message.op)}` }
  }
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })
for await (const line of lines) {
  if (line.trim() === '') {
    continue
  }
  let id = null
  let answer
  try {
    const message = JSON.parse(line)
    id = message.id ?? null
    answer = await handle(message)
  } catch (error) {
    answer = { ok: false, kind: 'internal', message: String(error?.stack ?? error) }
  }
  process.stdout.write(`${JSON.stringify({ id, ...answer })}\n`)
}
