"""Deployment descriptions checked against the code: the compose file and the Kubernetes manifests."""
