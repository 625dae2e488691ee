"""The checks, one module per group; importing this package registers them all."""

from helixflow.stacks.validate.checks import (  # noqa: F401
    api,
    availability,
    data,
    observability,
    performance,
    quotas,
    security,
    tls,
)
