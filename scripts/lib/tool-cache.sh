# Sourced by the install-*.sh scripts of the dev tools cached under $CACHE_ROOT/tools/: a tool is built or
# installed once per machine into ROOT, and is ready when ROOT/.installed holds STAMP and BIN is executable.
#
#   tool_ready_or_locked NAME ROOT STAMP BIN   ready: prints BIN, returns 0. Otherwise takes the tool's lock
#                                              (two set-ups at once must not install into one directory),
#                                              looks again, and returns 1 with the lock held: install it then.
#   tool_installed NAME ROOT STAMP BIN         writes the stamp, prints BIN
# Needs CACHE_ROOT set.

_tool_ready() { [ "$(cat "$2/.installed" 2>/dev/null)" = "$3" ] && [ -x "$4" ]; }

tool_ready_or_locked() {
  local name="$1" root="$2" stamp="$3" bin="$4"
  if _tool_ready "$@"; then
    echo "[$name] cached at $bin" >&2
    echo "$bin"
    return 0
  fi
  mkdir -p "$CACHE_ROOT/tools"
  exec 9>"$CACHE_ROOT/tools/.$name-lock"
  flock 9
  if _tool_ready "$@"; then echo "$bin"; return 0; fi
  return 1
}

tool_installed() {
  local name="$1" root="$2" stamp="$3" bin="$4"
  echo "$stamp" > "$root/.installed"
  echo "[$name] installed at $bin" >&2
  echo "$bin"
}
