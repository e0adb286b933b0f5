#!/usr/bin/env bash
# Starts and stops a throwaway MariaDB server for tests, from Debian's
# mariadb-server binaries, running as root on a free port of 127.0.0.1.
#
#   tests/support/mariadb-server.sh start DIR   # prints mariadb://ringhouse:PW@127.0.0.1:PORT/
#   tests/support/mariadb-server.sh stop DIR    # shuts it down; DIR is left for the caller
#
# The URL (no database name: tests create their own databases) is also
# written to DIR/url. Starting an already running server just prints its URL;
# starting again after a stop keeps the data, the password and, if it is still
# free, the port.
set -euo pipefail

usage() {
  echo "usage: $0 start|stop DIR" >&2
  exit 2
}

[ $# -eq 2 ] || usage
cmd=$1
dir=$2

find_bin() {
  local name
  for name in "$@"; do
    if command -v "$name" >/dev/null 2>&1; then
      command -v "$name"
      return 0
    fi
    for prefix in /usr/sbin /usr/bin /usr/local/sbin /usr/local/bin; do
      if [ -x "$prefix/$name" ]; then
        echo "$prefix/$name"
        return 0
      fi
    done
  done
  echo "mariadb-server.sh: none of $* found (apt-get install mariadb-server)" >&2
  return 1
}

# The pid in DIR/mysqld.pid if that process is alive, else nothing.
live_pid() {
  local pid
  [ -f "$dir/mysqld.pid" ] || return 1
  pid=$(tr -dc '0-9' <"$dir/mysqld.pid")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

admin() {
  "$ADMIN" --no-defaults --socket="$dir/mysqld.sock" -uroot --connect-timeout=2 "$@"
}

pings() {
  admin ping >/dev/null 2>&1
}

free_port() {
  python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

random_password() {
  # Alphanumeric: no percent-encoding needed in the URL.
  python3 -c 'import secrets, string
a = string.ascii_letters + string.digits
print("".join(secrets.choice(a) for _ in range(24)))'
}

start() {
  MARIADBD=$(find_bin mariadbd mysqld)
  INSTALL_DB=$(find_bin mariadb-install-db mysql_install_db)
  ADMIN=$(find_bin mariadb-admin mysqladmin)
  CLIENT=$(find_bin mariadb mysql)

  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)

  # Already running: just print the URL.
  if live_pid >/dev/null && pings && [ -s "$dir/url" ]; then
    cat "$dir/url"
    return 0
  fi
  # A stale server (alive but not answering) is stopped before starting anew.
  if pid=$(live_pid); then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/mysqld.pid" "$dir/mysqld.sock" "$dir/mysqld.sock.lock" "$dir/url"

  if [ ! -d "$dir/data/mysql" ]; then
    rm -rf "$dir/data"
    if ! "$INSTALL_DB" --no-defaults --user=root --datadir="$dir/data" \
        --auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1; then
      echo "mariadb-server.sh: mariadb-install-db failed:" >&2
      cat "$dir/install.log" >&2
      exit 1
    fi
  fi

  local port="" pid="" attempt ok=0
  for attempt in 1 2 3 4 5; do
    # A restart on the same DIR keeps its port when it is still free.
    if [ "$attempt" -eq 1 ] && [ -s "$dir/port" ]; then
      port=$(tr -dc '0-9' <"$dir/port")
    else
      port=$(free_port)
    fi
    : >"$dir/error.log"
    # Fully detached so the calling test process can exit while it runs.
    setsid nohup "$MARIADBD" --no-defaults --user=root --datadir="$dir/data" \
      --port="$port" --bind-address=127.0.0.1 --socket="$dir/mysqld.sock" \
      --pid-file="$dir/mysqld.pid" --log-error="$dir/error.log" --skip-name-resolve \
      --innodb-buffer-pool-size=64M --innodb-flush-log-at-trx-commit=1 \
      --max-connections=500 </dev/null >>"$dir/stdout.log" 2>&1 &
    pid=$!
    # Up to 60 s for it to answer; give up on this port early if it dies.
    local waited=0
    while [ $waited -lt 600 ]; do
      if pings; then ok=1; break; fi
      if ! kill -0 "$pid" 2>/dev/null; then break; fi
      sleep 0.1
      waited=$((waited + 1))
    done
    [ $ok -eq 1 ] && break
    if kill -0 "$pid" 2>/dev/null; then
      # Alive but silent for 60 s: not a port clash, give up.
      kill -9 "$pid" 2>/dev/null || true
      break
    fi
    # Died: retry on another port only if it was a bind failure.
    if ! grep -qiE "bind|address already in use|Do you already have another" "$dir/error.log"; then
      break
    fi
    echo "mariadb-server.sh: port $port taken, retrying ($attempt)" >&2
    rm -f "$dir/mysqld.pid" "$dir/mysqld.sock" "$dir/mysqld.sock.lock"
  done
  if [ $ok -ne 1 ]; then
    echo "mariadb-server.sh: mariadbd did not start; $dir/error.log:" >&2
    cat "$dir/error.log" >&2 || true
    exit 1
  fi

  # A restart on the same DIR keeps its password (and so its URL).
  local password
  if [ -s "$dir/password" ]; then
    password=$(tr -dc 'A-Za-z0-9' <"$dir/password")
  else
    password=$(random_password)
    (umask 077 && echo "$password" >"$dir/password")
  fi
  "$CLIENT" --no-defaults --socket="$dir/mysqld.sock" -uroot --batch <<SQL
CREATE OR REPLACE USER 'ringhouse'@'127.0.0.1' IDENTIFIED BY '$password';
CREATE OR REPLACE USER 'ringhouse'@'localhost' IDENTIFIED BY '$password';
GRANT ALL PRIVILEGES ON *.* TO 'ringhouse'@'127.0.0.1';
GRANT ALL PRIVILEGES ON *.* TO 'ringhouse'@'localhost';
FLUSH PRIVILEGES;
SQL
  echo "$port" >"$dir/port"
  echo "mariadb://ringhouse:$password@127.0.0.1:$port/" >"$dir/url"
  cat "$dir/url"
}

stop() {
  ADMIN=$(find_bin mariadb-admin mysqladmin)
  [ -d "$dir" ] || return 0
  local pid
  pid=$(live_pid) || pid=""
  if [ -S "$dir/mysqld.sock" ]; then
    admin shutdown >/dev/null 2>&1 || true
  fi
  [ -n "$pid" ] || return 0
  for _ in $(seq 1 200); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  echo "mariadb-server.sh: mariadbd $pid still alive after 20 s, killing it" >&2
  kill -TERM "$pid" 2>/dev/null || true
  sleep 2
  kill -KILL "$pid" 2>/dev/null || true
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
