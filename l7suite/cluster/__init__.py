"""The e2e tier's cluster: prerequisites, kind config, Helm values, install, readiness, scenarios, evidence.

Every call to Docker, kind, helm or kubectl goes through `tools.Runner` or `kube.Kube`, the two seams
unit tests replace with recorded outputs. Nothing here reads the ambient kube context: every command
gets the kubeconfig file the suite created or was given.
"""
