# shellcheck shell=bash
# heartbeat_run LOGFN LABEL LOGFILE DIR COMMAND...
#
# Runs a long command (a cold `go build` takes minutes) in DIR with its output appended to LOGFILE, and every 30 s
# (QA_HEARTBEAT_SECONDS) reports through the function LOGFN how long it has run and how far it got: with `go build -v`
# and `go get` every log line is a package or module, so the line count and the last line show progress. On failure the log's tail is
# printed and the script exits with the command's status. Shared by scripts/toolchain and scripts/local-cluster, so
# no cold build looks hung. Sourced, never executed.
heartbeat_run() {
  local logfn="$1" label="$2" logfile="$3" dir="$4"
  shift 4
  local start="${SECONDS}" pid rc=0 every="${QA_HEARTBEAT_SECONDS:-30}" next lines last
  next="${every}"
  mkdir -p "$(dirname "${logfile}")"
  # exec: the background pid is the command itself, so the trap below can signal it directly.
  (cd "${dir}" && exec "$@") >>"${logfile}" 2>&1 &
  pid="$!"
  # If we are interrupted or killed, take go (which then stops its compile workers) with us instead of leaving it
  # compiling for minutes.
  # shellcheck disable=SC2064 # expand pid now
  trap "kill -TERM ${pid} 2>/dev/null; exit 130" INT TERM
  while kill -0 "${pid}" 2>/dev/null; do
    sleep 1
    if kill -0 "${pid}" 2>/dev/null && ((SECONDS - start >= next)); then
      lines="$(wc -l <"${logfile}" | tr -d ' ')"
      last="$(tail -n 1 "${logfile}" | cut -c1-100)"
      "${logfn}" "  ... ${label}: still running ($((SECONDS - start))s, ${lines} log lines${last:+, last: ${last}})"
      next=$((next + every))
    fi
  done
  wait "${pid}" || rc="$?"
  trap - INT TERM
  if [[ "${rc}" -ne 0 ]]; then
    "${logfn}" "${label} failed (exit ${rc}); last lines of ${logfile}:"
    tail -n 40 "${logfile}" >&2
    exit "${rc}"
  fi
  "${logfn}" "  ${label}: done in $((SECONDS - start))s"
}
