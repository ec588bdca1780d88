#!/usr/bin/env bash
# Lint the Kubernetes manifests (deploy/k8s); `make lint` runs it. For every overlay:
#   1. yamllint -s over deploy/k8s (the repository's .yamllint.yaml);
#   2. render it with `kubectl kustomize` (kustomize is built into kubectl);
#   3. validate the core resources offline against the Kubernetes $K8S_VERSION schemas with
#      kubernetes-validate --strict (unknown fields are errors). The operators' custom resources
#      have no schema there and are skipped by kind (OPERATOR_KINDS below), and said so; any
#      other resource without a schema is a failure, not a warning;
#   4. check security settings with checkov (framework kubernetes) on the rendered YAML.
# Exits non-zero when anything fails, after printing what failed.
#
# Tools (environment variables, defaults for running from the repository root):
#   KUBECTL              kubectl                                   (PATH)
#   YAMLLINT             .venv/bin/yamllint
#   KUBERNETES_VALIDATE  .venv/bin/kubernetes-validate
#   PYTHON               .venv/bin/python                          (with PyYAML)
#   CHECKOV              .venv/tools/checkov/bin/checkov, else checkov on PATH. checkov lives
#                        in a venv of its own: it pins packaging<24, which pytest 9 refuses.
#   K8S_VERSION          1.31.0                                    (schemas to validate against)
set -euo pipefail

cd "$(dirname "$0")/.."

KUBECTL=${KUBECTL:-kubectl}
YAMLLINT=${YAMLLINT:-.venv/bin/yamllint}
KUBERNETES_VALIDATE=${KUBERNETES_VALIDATE:-.venv/bin/kubernetes-validate}
PYTHON=${PYTHON:-.venv/bin/python}
K8S_VERSION=${K8S_VERSION:-1.31.0}
if [[ -z "${CHECKOV:-}" ]]; then
    if [[ -x .venv/tools/checkov/bin/checkov ]]; then
        CHECKOV=.venv/tools/checkov/bin/checkov
    else
        CHECKOV=checkov
    fi
fi

# Custom resources of the operators (base/infra): group/Kind. kubernetes-validate only knows
# the built-in kinds of Kubernetes, so these are not validated here.
OPERATOR_KINDS=(
    postgresql.cnpg.io/Cluster
    rabbitmq.com/RabbitmqCluster
    rabbitmq.com/User
    rabbitmq.com/Permission
    rabbitmq.com/Policy
)

# checkov checks that cannot apply to these manifests (each reason beside it):
SKIPPED_CHECKS=(
    # "Image should use digest": the OMS image is built locally and the overlay sets its tag
    # (kustomize `images:`); a production overlay pins it by digest with
    # `kustomize edit set image oms=REGISTRY/oms@sha256:...`. redis:7 likewise.
    CKV_K8S_43
    # "Prefer using secrets as files over secrets as environment variables": the OMS reads its
    # connection URLs and secret key from environment variables only (OMS_DATABASE_URL,
    # OMS_AMQP_URL, OMS_SECRET_KEY, password_env; docs/configuration.md); there is no file option.
    CKV_K8S_35
)

failures=()
fail() {
    failures+=("$1")
    echo "k8s-lint: FAILED: $1" >&2
}

need() {  # need NAME COMMAND HINT
    if ! command -v "$2" >/dev/null 2>&1; then
        echo "k8s-lint: $1 not found ($2): $3" >&2
        exit 1
    fi
}
need kubectl "$KUBECTL" "install kubectl (1.27 or later; kustomize is built in)"
need yamllint "$YAMLLINT" "make install"
need kubernetes-validate "$KUBERNETES_VALIDATE" "make install (kubernetes-validate is in the dev extra)"
need python "$PYTHON" "make install"
need checkov "$CHECKOV" "make lint installs it into .venv/tools/checkov, or set CHECKOV=/path/to/checkov"

workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT

echo "k8s-lint: yamllint -s deploy/k8s"
"$YAMLLINT" -s deploy/k8s || fail "yamllint deploy/k8s"

overlays=(deploy/k8s/overlays/*/)
if [[ ! -d "${overlays[0]}" ]]; then
    fail "no overlay under deploy/k8s/overlays"
fi

for overlay in "${overlays[@]}"; do
    overlay=${overlay%/}
    name=$(basename "$overlay")
    rendered="$workdir/$name.yaml"
    core="$workdir/$name.core.yaml"

    echo "k8s-lint: $overlay: kubectl kustomize"
    if ! "$KUBECTL" kustomize "$overlay" >"$rendered"; then
        fail "$overlay: kubectl kustomize"
        continue
    fi

    # Split the render: built-in kinds to validate, operator kinds to skip (listed).
    if ! "$PYTHON" - "$rendered" "$core" "${OPERATOR_KINDS[@]}" <<'PY'
import sys

import yaml

rendered, core, *operator_kinds = sys.argv[1:]
with open(rendered, encoding="utf-8") as f:
    documents = [d for d in yaml.safe_load_all(f) if d]
kept, skipped = [], []
for doc in documents:
    group = doc["apiVersion"].rpartition("/")[0]
    if f"{group}/{doc['kind']}" in operator_kinds:
        skipped.append(f"{doc['kind']} {doc['apiVersion']} {doc['metadata']['name']}")
    else:
        kept.append(doc)
with open(core, "w", encoding="utf-8") as f:
    yaml.safe_dump_all(kept, f, sort_keys=False)
print(f"k8s-lint: {len(documents)} resources rendered; {len(kept)} to validate; "
      f"{len(skipped)} operator custom resources not validated (no schema offline):")
for line in skipped:
    print(f"k8s-lint:   skipped {line}")
PY
    then
        fail "$overlay: reading the rendered YAML"
        continue
    fi

    echo "k8s-lint: $overlay: kubernetes-validate --strict (Kubernetes $K8S_VERSION)"
    set +e
    validate_out=$("$KUBERNETES_VALIDATE" --strict --quiet -k "$K8S_VERSION" "$core" 2>&1)
    validate_rc=$?
    set -e
    if [[ -n "$validate_out" ]]; then
        echo "$validate_out"
    fi
    # A WARN is a resource without a schema: a kind that is neither built in nor listed above.
    if [[ $validate_rc -ne 0 ]] || grep -qE '^(WARN|ERROR|FATAL)' <<<"$validate_out"; then
        fail "$overlay: kubernetes-validate"
    fi

    echo "k8s-lint: $overlay: checkov (framework kubernetes)"
    skip_list=$(IFS=,; echo "${SKIPPED_CHECKS[*]}")
    if ! "$CHECKOV" --file "$rendered" --framework kubernetes --quiet --compact \
            --skip-download --skip-check "$skip_list"; then
        fail "$overlay: checkov"
    fi
done

if ((${#failures[@]})); then
    echo "k8s-lint: ${#failures[@]} problem(s):" >&2
    printf 'k8s-lint:   %s\n' "${failures[@]}" >&2
    exit 1
fi
echo "k8s-lint: ok"
