"""`make check-deploy`: the compose file and every Kubernetes manifest checked against the code (and
`docker compose config` where a Docker client is installed); prints each problem, exits 1 if there is any."""

from __future__ import annotations

from outlay.deploy import compose, k8s


def main() -> int:
    found = compose.problems() + compose.docker_compose_config() + k8s.problems()
    for problem in found:
        print(problem)
    print(f"check-deploy: {len(found)} problem(s)" if found else "check-deploy: compose and Kubernetes manifests OK")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
