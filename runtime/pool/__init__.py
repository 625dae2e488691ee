"""The inference pool: SGLang GPU workers and CPU engine workers behind sglang-router.

- `sglang_worker`: typed spec of an SGLang GPU worker → its pod command and environment;
- `router`: typed spec of sglang-router → its exact argv (failover-tuned defaults);
- `local`: the command line of a CPU engine worker on this machine.

(The tests' launchers and router control live in `tests/support/`.)
"""
