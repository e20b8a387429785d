"""The Kubernetes manifests render, pass the Kubernetes schema and agree with the code; broken copies say why."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from outlay.deploy.k8s import K8S_DIR, REPO_ROOT, KustomizeError, problems, render, split_image, strategic_merge


def broken(tmp_path: Path, file: str, old: str, new: str) -> list[str]:
    """problems() of a copy of deploy/k8s in which `old` is replaced by `new` (once) in `file`."""
    shutil.copytree(REPO_ROOT / K8S_DIR, tmp_path / K8S_DIR)
    path = tmp_path / K8S_DIR / file
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} must occur once in {file}"
    path.write_text(text.replace(old, new))
    return problems(tmp_path)


def one_naming(found: list[str], *parts: str) -> str:
    """The one problem that names every part; the assertion message lists them all when none does."""
    matching = [p for p in found if all(part in p for part in parts)]
    assert len(matching) == 1, f"no single problem naming {parts}: {found}"
    return matching[0]


def test_the_repository_manifests_have_no_problems() -> None:
    assert problems() == []


def test_a_container_port_other_than_the_codes_default_is_named(tmp_path: Path) -> None:
    found = broken(tmp_path, "base/gateway.yaml", "containerPort: 8000", "containerPort: 8080")
    problem = one_naming(found, "deploy/k8s/base/gateway.yaml", "Deployment/outlay-gateway", "port http is 8080")
    assert "OUTLAY_API_PORT=8000" in problem
    assert "overlays/prod" in problem  # the base object's problem names the builds that include it


def test_an_env_var_that_is_no_setting_is_named(tmp_path: Path) -> None:
    found = broken(tmp_path, "base/anomaly.yaml", "name: OUTLAY_ANOMALY_SENSITIVITY", "name: OUTLAY_ANOMALY_SENSITIVTY")
    one_naming(found, "deploy/k8s/base/anomaly.yaml", "Deployment/outlay-anomaly", "env OUTLAY_ANOMALY_SENSITIVTY")


def test_a_configmap_key_that_is_no_setting_is_named(tmp_path: Path) -> None:
    found = broken(tmp_path, "overlays/prod/patch-config.yaml", "KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP")
    problem = one_naming(found, "ConfigMap/outlay-config", "key KAFKA_BOOTSTRAP is not a setting")
    assert "patched by deploy/k8s/overlays/prod/patch-config.yaml" in problem


def test_a_field_the_kubernetes_schema_does_not_have_is_named(tmp_path: Path) -> None:
    found = broken(
        tmp_path,
        "base/pdb.yaml",
        "name: outlay-forecast\nspec:\n",
        "name: outlay-forecast\nspec:\n  maxUnavailble: 1\n",
    )
    problem = one_naming(found, "deploy/k8s/base/pdb.yaml", "PodDisruptionBudget/outlay-forecast", "schema")
    assert "maxUnavailble" in problem


def test_a_topic_partition_count_unlike_the_codes_is_named(tmp_path: Path) -> None:
    old = "topicName: outlay.ledger.progress.v1\n  partitions: 1"
    found = broken(tmp_path, "kafka/topics.yaml", old, old.replace("partitions: 1", "partitions: 3"))
    problem = one_naming(found, "deploy/k8s/kafka/topics.yaml", "KafkaTopic/outlay.ledger.progress.v1", "3 partitions")
    assert "declares 1" in problem


def test_a_topic_retention_unlike_the_codes_is_named(tmp_path: Path) -> None:
    old = "topicName: outlay.ledger.progress.v1\n  partitions: 1\n  replicas: 3\n  config:\n    retention.ms: 86400000"
    found = broken(tmp_path, "kafka/topics.yaml", old, old.replace("86400000", "3600000"))
    problem = one_naming(found, "KafkaTopic/outlay.ledger.progress.v1", "retention.ms 3600000")
    assert "declares 86400000" in problem


def test_default_partitions_must_match_the_deployments_setting(tmp_path: Path) -> None:
    found = broken(tmp_path, "base/configmap.yaml", 'OUTLAY_TOPIC_PARTITIONS: "12"', 'OUTLAY_TOPIC_PARTITIONS: "16"')
    problem = one_naming(found, "KafkaTopic/outlay.usage.v1", "OUTLAY_TOPIC_PARTITIONS=16")
    assert "12 partitions; base, overlays/dev, overlays/prod run with" in problem


def test_a_topic_without_a_kafkatopic_is_named(tmp_path: Path) -> None:
    found = broken(tmp_path, "kafka/topics.yaml", "topicName: outlay.plans.v1", "topicName: outlay.plan.v1")
    one_naming(found, "no KafkaTopic for outlay.plans.v1")
    one_naming(found, "topic outlay.plan.v1 is not declared")


def test_an_autoscaler_beyond_the_partitions_it_consumes_is_named(tmp_path: Path) -> None:
    found = broken(
        tmp_path,
        "overlays/prod/patch-scale.yaml",
        "spec: { minReplicas: 3 }\n---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: { name: outlay-anomaly }",
        "spec: { minReplicas: 3, maxReplicas: 13 }\n---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: { name: outlay-anomaly }",
    )
    problem = one_naming(found, "HorizontalPodAutoscaler/outlay-ledger", "maxReplicas 13")
    assert "12 partitions of outlay.usage.v1" in problem and "[in overlays/prod;" in problem


def test_a_probe_on_a_path_the_gateway_does_not_serve_is_named(tmp_path: Path) -> None:
    found = broken(tmp_path, "base/gateway.yaml", "path: /readyz", "path: /ready")
    one_naming(found, "Deployment/outlay-gateway", "readinessProbe: path /ready is not")


def test_a_secret_given_as_a_literal_value_is_named(tmp_path: Path) -> None:
    old = "            - name: DATABASE_URL\n              valueFrom: { secretKeyRef: { name: outlay-db, key: url } }"
    new = "            - name: DATABASE_URL\n              value: postgresql://outlay:hunter2@db/outlay"
    found = broken(tmp_path, "base/ledger.yaml", old, new)
    one_naming(found, "Deployment/outlay-ledger", "DATABASE_URL is a secret")


def test_a_process_left_on_its_local_store_default_is_named(tmp_path: Path) -> None:
    old = "            - name: DATABASE_URL\n              valueFrom: { secretKeyRef: { name: outlay-db, key: url } }\n"
    found = broken(tmp_path, "base/anomaly.yaml", old, "")
    one_naming(found, "deploy/k8s/base/anomaly.yaml", "Deployment/outlay-anomaly", "DATABASE_URL is not set")


def test_an_unknown_service_name_is_named(tmp_path: Path) -> None:
    found = broken(tmp_path, "base/metering.yaml", '"run", "metering"]', '"run", "meter"]')
    one_naming(found, "Deployment/outlay-metering", "services run NAME")
    one_naming(found, "deploy/k8s/overlays/prod:", "no Deployment runs `outlay services run` metering")


def test_an_unsupported_kustomization_field_fails_loudly(tmp_path: Path) -> None:
    found = broken(tmp_path, "base/kustomization.yaml", "labels:\n", "commonLabels: { team: finops }\nlabels:\n")
    one_naming(found, "cannot render", "unsupported kustomization field(s) commonLabels", "[in base]")
    with pytest.raises(KustomizeError, match="commonLabels"):
        render(tmp_path / K8S_DIR / "overlays" / "dev", tmp_path)


def test_overlays_set_namespace_image_tag_replicas_and_patches() -> None:
    objects = {(r.kind, r.name): r.obj for r in render(REPO_ROOT / K8S_DIR / "overlays" / "prod", REPO_ROOT)}
    ledger = objects[("Deployment", "outlay-ledger")]
    assert ledger["metadata"]["namespace"] == "outlay" and ledger["spec"]["replicas"] == 3
    container = ledger["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "ghcr.io/outlay/outlay:0.1.0"
    assert container["resources"]["requests"]["cpu"] == "500m"  # the patch merged into the container by name
    assert container["env"][0]["name"] == "DATABASE_URL"  # and left what it does not mention
    assert ledger["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/part-of"] == "outlay"
    assert "namespace" not in objects[("Namespace", "outlay")]["metadata"]
    config = objects[("ConfigMap", "outlay-config")]["data"]
    assert config["KAFKA_BOOTSTRAP_SERVERS"] == "outlay-kafka-bootstrap.kafka.svc.cluster.local:9092"


def test_strategic_merge_merges_keyed_lists_replaces_others_and_deletes_nulls() -> None:
    base = {"containers": [{"name": "a", "image": "x", "args": ["1", "2"]}], "drop": 1}
    patch = {"containers": [{"name": "a", "args": ["3"]}, {"name": "b"}], "drop": None}
    assert strategic_merge(base, patch) == {"containers": [{"name": "a", "image": "x", "args": ["3"]}, {"name": "b"}]}
    with pytest.raises(KustomizeError):
        strategic_merge({}, {"$patch": "delete"})


def test_split_image_keeps_a_registry_port_out_of_the_tag() -> None:
    assert split_image("registry:5000/outlay/outlay:1.2") == ("registry:5000/outlay/outlay", "1.2")
    assert split_image("registry:5000/outlay") == ("registry:5000/outlay", "")


def test_a_kafka_cluster_below_the_durability_settings_is_named(tmp_path: Path) -> None:
    old = "      min.insync.replicas: 2\n"
    found = broken(tmp_path, "kafka/kafka.yaml", old, "      min.insync.replicas: 1\n")
    one_naming(found, "deploy/k8s/kafka/kafka.yaml", "Kafka/outlay", "min.insync.replicas is 1, expected 2")


def test_a_keda_scaledobject_beyond_the_partitions_is_named(tmp_path: Path) -> None:
    old = "  maxReplicaCount: 12\n  cooldownPeriod: 600"
    found = broken(tmp_path, "options/keda/scaledobjects.yaml", old, old.replace("12", "24"))
    one_naming(found, "ScaledObject/outlay-anomaly", "maxReplicas 24 exceeds the 12 partitions")
