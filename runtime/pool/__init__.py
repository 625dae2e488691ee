"""The inference pool: SGLang GPU workers and CPU engines behind sglang-router.

- `sglang_worker`: typed spec of an SGLang GPU worker → its pod command and environment;
- `router`: typed spec of sglang-router → its exact argv (failover-tuned defaults);
- `admin`: worker management (`/workers`) and pool readiness (`/readiness`) of a running router;
- `local` / `process`: starting and stopping the pool's processes on one machine.
"""
