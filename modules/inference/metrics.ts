// The server's Prometheus metrics (prom-client, its own registry; every name starts with nexa_): requests by
// endpoint and status, choices by finish reason, queue depth and running generations, time to first token,
// inter-token and end-to-end latency histograms in seconds, prompt and generated token counters, and the process
// metrics (resident memory, CPU, event-loop lag) under the same prefix.

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: "nexa_requests_total",
    help: "HTTP requests answered, by route and status code",
    labelNames: ["endpoint", "status"] as const,
    registers: [this.registry],
  });
  readonly finishes = new Counter({
    name: "nexa_choices_total",
    help: "Generated choices, by finish reason (stop, length, cancelled, timeout)",
    labelNames: ["finish_reason"] as const,
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: "nexa_queue_depth",
    help: "Requests waiting for a model worker",
    registers: [this.registry],
  });
  readonly activeGenerations = new Gauge({
    name: "nexa_active_generations",
    help: "Requests running on a model worker",
    registers: [this.registry],
  });
  readonly timeToFirstToken = new Histogram({
    name: "nexa_time_to_first_token_seconds",
    help: "From the request's arrival to its first generated token",
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly interTokenLatency = new Histogram({
    name: "nexa_inter_token_latency_seconds",
    help: "Between consecutive generated tokens of one choice",
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly requestDuration = new Histogram({
    name: "nexa_request_duration_seconds",
    help: "End-to-end latency of generation requests (arrival to last byte)",
    labelNames: ["endpoint"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly promptTokens = new Counter({
    name: "nexa_prompt_tokens_total",
    help: "Prompt tokens of generation requests that ran",
    registers: [this.registry],
  });
  readonly generationTokens = new Counter({
    name: "nexa_generation_tokens_total",
    help: "Tokens generated (every sampled token, counted as it is produced)",
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "nexa_" });
  }
}
