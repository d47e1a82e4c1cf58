#!/usr/bin/env bash
# Exec-to-first-200 probe for hyperfine: start a server, poll GET / until it answers 200, kill it.
#   bench/startup.sh PORT CMD [ARGS...]
# Everything is a bash builtin (/dev/tcp, read -t) so the probe itself adds ~2 ms of its own and
# no CPU-hungry busy loop: between attempts it sleeps 2 ms in `read -t` on a pipe nobody writes.
# The server gets PORT and HOST in its environment (the raw servers read them; tsuv gets --port).
set -u
# A connection can be reset under the probe: a supervisor checks a fixed port is free by listening
# on it for a moment, and a connect() landing in that moment is reset when it lets go. Writing to
# it must not end this script with SIGPIPE (exit 141), which left the server running; the loop
# just tries again.
trap '' PIPE
export PORT=$1 HOST=127.0.0.1
shift
# A new process group (setsid execs in place here: a background job is not a group leader), so the
# kill below reaches the server's workers too.
setsid "$@" >/dev/null 2>&1 &
pid=$!
exec 9<> <(:)
status=1
for ((i = 0; i < 15000; i++)); do
  if { exec 3<>"/dev/tcp/127.0.0.1/$PORT"; } 2>/dev/null; then
    printf 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3 2>/dev/null
    IFS= read -r -t 5 line <&3 2>/dev/null
    exec 3<&-
    if [[ ${line:-} == "HTTP/1."?" 200"* ]]; then
      status=0
      break
    fi
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "startup.sh: server exited before answering 200: $*" >&2
    break
  fi
  read -r -t 0.002 -u 9 || true
done
kill -KILL -- "-$pid" 2>/dev/null
wait "$pid" 2>/dev/null
exit $status
