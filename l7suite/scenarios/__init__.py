"""What the e2e scenarios need beyond the cluster seam: CiliumEnvoyConfig comparison, gRPC and
resilience loops run in one exec, cilium-envoy admin on a chosen node, and the Docker-side containers
of the proxy-redirect scenario. Everything here builds commands and parses outputs; running them goes
through the `Kube` or runner seams, so each piece is tested on recorded outputs without a cluster.
"""
