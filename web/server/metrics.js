// Prometheus metrics (prom-client), one registry per server so that several servers in one
// process (tests) do not share counters. Exposed at GET /metrics in the text format.
import client from 'prom-client';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function createMetrics({ defaultMetrics = true } = {}) {
  const register = new client.Registry();
  if (defaultMetrics) client.collectDefaultMetrics({ register, prefix: 'dc_' });
  const requests = new client.Counter({
    name: 'dc_http_requests_total',
    help: 'HTTP requests answered, by route and status',
    labelNames: ['route', 'method', 'status'],
    registers: [register],
  });
  const push = new client.Histogram({
    name: 'dc_push_duration_seconds',
    help: 'Push request latency (read, validate, store, answer)',
    labelNames: ['log'],
    buckets: LATENCY_BUCKETS,
    registers: [register],
  });
  const pull = new client.Histogram({
    name: 'dc_pull_duration_seconds',
    help: 'Pull request latency',
    labelNames: ['log'],
    buckets: LATENCY_BUCKETS,
    registers: [register],
  });
  const stored = new client.Counter({
    name: 'dc_events_stored_total',
    help: 'Entries newly stored by this process (not counting resends of stored ones), by log (events, audit)',
    labelNames: ['log'],
    registers: [register],
  });
  const passwordChecks = new client.Counter({
    name: 'dc_password_evaluations_total',
    help: 'Password hashes evaluated at login (the login limiter bounds these)',
    registers: [register],
  });
  const loginLimited = new client.Counter({
    name: 'dc_login_rate_limited_total',
    help: 'Login attempts refused by the login limiter',
    registers: [register],
  });
  return { register, requests, push, pull, stored, passwordChecks, loginLimited };
}
