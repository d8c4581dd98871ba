"""gRPC scenario pieces: grpcurl -v parsing on the lab's outputs, the one-exec call loop run by a real
sh with a stand-in grpcurl, Envoy's per-host counts, and the shipped proto compiled by protoc."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import yaml
from google.protobuf import descriptor_pb2
from grpc_tools import protoc

from l7suite import MANIFESTS_DIR
from l7suite.manifests import load_manifest_set
from l7suite.traffic.pod_probes.grpcurl import (
    CURRENCY_METHOD,
    calls_script,
    grpcurl_argv,
    host_requests,
    parse_calls,
    parse_grpcurl,
)

DATA = Path(__file__).parent / "data"


def test_plain_answer_has_no_envoy_header_and_33_currencies():
    answer = parse_grpcurl((DATA / "seed_grpcurl_plain.txt").read_text(), 0)
    assert answer.headers["content-type"] == ["application/grpc+proto"] and not answer.via_envoy
    assert len(answer.contents) == 1 and len(answer.contents[0]["currencyCodes"]) == 33
    assert answer.trailers == {}


def test_answer_through_envoy_carries_server_envoy():
    answer = parse_grpcurl((DATA / "seed_grpcurl_via_envoy_headers.txt").read_text(), 0)
    assert answer.via_envoy and answer.headers["x-envoy-upstream-service-time"] == ["1"]


def test_call_loop_runs_in_one_shell_and_keeps_each_exit_code(tmp_path):
    # a stand-in grpcurl: the lab's plain answer, failing on the second call
    fake = tmp_path / "grpcurl"
    fake.write_text(f"#!/bin/sh\nn=$(cat {tmp_path}/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > {tmp_path}/n\n"
                    f"cat {DATA / 'seed_grpcurl_plain.txt'}\n[ $n -ne 2 ]\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    script = calls_script(grpcurl_argv("currencyservice.grpc.svc.cluster.local:7000"), 3)
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=30, check=False,
                          env={**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"})
    answers = parse_calls(done.stdout)
    assert [a.exit_code for a in answers] == [0, 1, 0]
    assert all(len(a.contents[0]["currencyCodes"]) == 33 for a in answers)


def test_a_cut_off_call_is_not_counted():
    assert len(parse_calls("--l7suite-call\nResponse contents:\n{}\n--l7suite-rc 0\n--l7suite-call\nResolved")) == 1


def test_host_requests_reads_rq_total_per_host():
    # shape of Envoy's admin /clusters?format=json (admin/v3/clusters.proto; uint64 as JSON strings)
    clusters = {"cluster_statuses": [
        {"name": "grpc/currencyservice", "host_statuses": [
            {"address": {"socket_address": {"address": "10.244.1.5", "port_value": 7000}},
             "stats": [{"name": "cx_total", "value": "4"}, {"name": "rq_total", "value": "11"}]},
            {"address": {"socket_address": {"address": "10.244.2.7", "port_value": 7000}},
             "stats": [{"name": "rq_total", "value": "9"}]}]},
        {"name": "other", "host_statuses": []}]}
    assert host_requests(clusters, "grpc/currencyservice") == {"10.244.1.5:7000": 11, "10.244.2.7:7000": 9}
    assert host_requests(clusters, "absent") == {}


def test_shipped_proto_compiles_and_defines_the_method(tmp_path):
    cluster_scenario = load_manifest_set("grpc-lb-annotations", MANIFESTS_DIR)
    config_map = cluster_scenario.get("ConfigMap", "grpc", "currency-proto")
    assert config_map is not None
    (tmp_path / "currency.proto").write_text(config_map.data["data"]["currency.proto"])
    out = tmp_path / "set.pb"
    assert protoc.main(["protoc", f"-I{tmp_path}", f"--descriptor_set_out={out}", "currency.proto"]) == 0
    files = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file
    service = files[0].service[0]
    assert f"{files[0].package}.{service.name}/{service.method[0].name}" == CURRENCY_METHOD
    response = next(m for m in files[0].message_type if m.name == "GetSupportedCurrenciesResponse")
    assert [(f.name, f.number, f.label) for f in response.field] == [("currency_codes", 1, 3)]  # repeated


def test_client_mounts_the_proto_where_grpcurl_looks():
    cluster_scenario = load_manifest_set("grpc-lb-annotations", MANIFESTS_DIR)
    pod = cluster_scenario.get("Pod", "grpc", "grpc-client")
    assert pod is not None
    container = pod.spec["containers"][0]
    argv = grpcurl_argv("x:7000")
    assert container["volumeMounts"][0]["mountPath"] == argv[argv.index("-import-path") + 1]
    assert container["image"] == "fullstorydev/grpcurl:v1.9.3-alpine"


def test_stages_only_add_the_annotations():
    cluster_scenario = load_manifest_set("grpc-lb-annotations", MANIFESTS_DIR)
    base = cluster_scenario.get("Service", "grpc", "currencyservice")
    assert base is not None and "annotations" not in base.data["metadata"]
    stages = {n: yaml.safe_load(p.read_text()) for n, p in cluster_scenario.stage_files().items()}
    for name, wanted in {"lb-l7": {"service.cilium.io/lb-l7": "enabled"},
                              "least-request": {"service.cilium.io/lb-l7": "enabled",
                                                "service.cilium.io/lb-l7-algorithm": "least_request"}}.items():
        stage = stages[name]
        assert stage["metadata"].pop("annotations") == wanted
        assert stage == base.data
