"""The `kubernetes.data` contract for external databases: postgres_url for the services, an optional
postgres_admin_url for the migrations only; wrong combinations are refused with what to change."""

from __future__ import annotations

from typing import Any

import pytest

from helixflow.stacks.config import KubernetesStack, parse_config
from helixflow.stacks.errors import HelixFlowError

pytestmark = pytest.mark.unit
REDIS = "rediss://default:p@cache.example.com:6379/0"


def _parse(data: dict[str, Any]) -> KubernetesStack:
    config = parse_config({"target": "kubernetes", "kubernetes": {"data": data}})
    assert isinstance(config, KubernetesStack)
    return config


def test_an_admin_url_beside_the_services_url_is_accepted() -> None:
    config = _parse({"mode": "external", "postgres_url": "postgresql://app:a@db/h", "redis_url": REDIS,
                     "postgres_admin_url": "postgresql://master:m@db/h"})  # fmt: skip
    assert config.kubernetes.data.postgres_admin_url == "postgresql://master:m@db/h"


def test_the_admin_and_the_services_may_not_be_one_user() -> None:
    with pytest.raises(HelixFlowError, match=r"same user as data\.postgres_url"):
        _parse({"mode": "external", "postgres_url": "postgresql://app:a@db/h", "redis_url": REDIS,
                "postgres_admin_url": "postgresql://app:other@db/h"})  # fmt: skip


def test_an_admin_url_is_for_external_databases_only() -> None:
    with pytest.raises(HelixFlowError, match=r"postgres_admin_url is for data\.mode external"):
        _parse({"postgres_admin_url": "postgresql://master:m@db/h"})


def test_an_admin_url_must_be_postgresql() -> None:
    with pytest.raises(HelixFlowError, match="must be a postgresql:// URL"):
        _parse({"mode": "external", "postgres_url": "postgresql://app:a@db/h", "redis_url": REDIS,
                "postgres_admin_url": "mysql://master:m@db/h"})  # fmt: skip
