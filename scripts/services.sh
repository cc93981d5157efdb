#!/usr/bin/env bash
# Local backing services for SkySentinel on machines without Docker:
#   - Apache Kafka 3.9.1, KRaft combined mode (broker 127.0.0.1:9092, controller 127.0.0.1:9093)
#   - a private PostgreSQL 15 cluster on 127.0.0.1:${PGPORT_SKYSENTINEL:-55432}
#
# Usage: bash scripts/services.sh [start|stop|restart|status|env] [all|kafka|postgres]
#        (default: start all)
#        deno task services [start|stop|restart|status|env]
#
# `start` and `env` print only `export ...` lines on stdout (progress goes to stderr), so
#   eval "$(bash scripts/services.sh start)"
# exports KAFKA_BROKERS and DATABASE_URL.
#
# Environment:
#   SKYSENTINEL_CACHE   jar cache shared between clones (default: ~/.cache/skysentinel)
#   SERVICES_DIR        runtime state: data, logs, pid files (default: <repo>/.services)
#   PGPORT_SKYSENTINEL  PostgreSQL port (default: 55432)
#   KAFKA_PORT          broker port (default: 9092); with KAFKA_CONTROLLER_PORT (default: 9093)
#                       and a SERVICES_DIR of its own, a second, private broker (fault tests)
#   PG_BINDIR           PostgreSQL binaries (default: /usr/lib/postgresql/15/bin or pg_config --bindir)
#   PG_OS_USER          system user that runs postgres when invoked as root (default: postgres)
#   KAFKA_START_TIMEOUT seconds to wait for the broker (default: 90)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
cd "$ROOT"

if [[ -z "${HOME:-}" ]]; then
  HOME="$(getent passwd "$(id -u)" | cut -d: -f6 || true)"
  HOME="${HOME:-/tmp}"
  export HOME
fi

CACHE_DIR="${SKYSENTINEL_CACHE:-$HOME/.cache/skysentinel}"
SERVICES_DIR="${SERVICES_DIR:-$ROOT/.services}"
case "$SERVICES_DIR" in /*) ;; *) SERVICES_DIR="$ROOT/$SERVICES_DIR" ;; esac

KAFKA_VERSION=3.9.1
KAFKA_CACHE="$CACHE_DIR/kafka-$KAFKA_VERSION"
KAFKA_LIB="$KAFKA_CACHE/lib"
KAFKA_HOST=127.0.0.1
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
KAFKA_DIR="$SERVICES_DIR/kafka"
KAFKA_DATA="$KAFKA_DIR/data"
KAFKA_LOGS="$KAFKA_DIR/logs"
KAFKA_CONFIG="$KAFKA_DIR/server.properties"
KAFKA_LOG4J="$KAFKA_DIR/log4j.properties"
KAFKA_PIDFILE="$KAFKA_DIR/kafka.pid"
KAFKA_CLUSTER_ID_FILE="$KAFKA_DIR/cluster.id"

PG_HOST=127.0.0.1
PG_PORT="${PGPORT_SKYSENTINEL:-55432}"
PG_USER=skysentinel
PG_DB=skysentinel
PG_OS_USER="${PG_OS_USER:-postgres}"

KAFKA_BROKERS_VALUE="$KAFKA_HOST:$KAFKA_PORT"
DATABASE_URL_VALUE="postgres://$PG_USER@$PG_HOST:$PG_PORT/$PG_DB"

# ---------------------------------------------------------------------------------------------
# helpers

log() { printf '[services] %s\n' "$*" >&2; }
die() {
  printf '[services] ERROR: %s\n' "$*" >&2
  exit 1
}

print_env() {
  printf 'export KAFKA_BROKERS=%s\n' "$KAFKA_BROKERS_VALUE"
  printf 'export DATABASE_URL=%s\n' "$DATABASE_URL_VALUE"
}

# port_open HOST PORT: true when something accepts a TCP connection.
port_open() {
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" >/dev/null 2>&1
}

pid_alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }

is_root() { [[ "$(id -u)" -eq 0 ]]; }

# Serialise start/stop across concurrent callers sharing the same SERVICES_DIR.
take_lock() {
  mkdir -p "$SERVICES_DIR"
  exec 9>"$SERVICES_DIR/.lock"
  if ! flock -w 300 9; then
    die "another 'services.sh' holds $SERVICES_DIR/.lock for more than 300 s"
  fi
}

# ---------------------------------------------------------------------------------------------
# Kafka

kafka_pid() {
  local pid
  [[ -f "$KAFKA_PIDFILE" ]] || return 1
  pid="$(cat "$KAFKA_PIDFILE" 2>/dev/null || true)"
  pid_alive "$pid" || return 1
  # Guard against pid reuse: the process must be our broker.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "kafka.Kafka $KAFKA_CONFIG" || return 1
  printf '%s\n' "$pid"
}

kafka_fetch_jars() {
  if [[ -f "$KAFKA_LIB/.complete" ]]; then
    return 0
  fi
  command -v mvn >/dev/null 2>&1 || die "mvn (Maven) is required to fetch the Kafka jars"
  command -v java >/dev/null 2>&1 || die "java is required to run Kafka"
  mkdir -p "$KAFKA_CACHE"
  (
    # Several clones may fetch at once: one downloads, the others wait and reuse.
    exec 8>"$KAFKA_CACHE/.fetch.lock"
    flock -w 900 8 || die "timed out waiting for $KAFKA_CACHE/.fetch.lock"
    if [[ -f "$KAFKA_LIB/.complete" ]]; then
      exit 0
    fi
    log "fetching Kafka $KAFKA_VERSION jars from Maven Central into $KAFKA_LIB (one-time)..."
    local_pom="$KAFKA_CACHE/pom.xml"
    cat >"$local_pom" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 http://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.skysentinel</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <dependency>
      <groupId>ch.qos.reload4j</groupId>
      <artifactId>reload4j</artifactId>
      <version>1.2.25</version>
    </dependency>
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-reload4j</artifactId>
      <version>1.7.36</version>
    </dependency>
  </dependencies>
  <build>
    <pluginManagement>
      <plugins>
        <plugin>
          <groupId>org.apache.maven.plugins</groupId>
          <artifactId>maven-dependency-plugin</artifactId>
          <version>3.8.1</version>
        </plugin>
      </plugins>
    </pluginManagement>
  </build>
</project>
EOF
    tmp_lib="$KAFKA_CACHE/lib.tmp.$$"
    rm -rf "$tmp_lib"
    if ! mvn -B -q -f "$local_pom" dependency:copy-dependencies \
      -DoutputDirectory="$tmp_lib" -DincludeScope=runtime >"$KAFKA_CACHE/mvn.log" 2>&1; then
      tail -n 40 "$KAFKA_CACHE/mvn.log" >&2 || true
      rm -rf "$tmp_lib"
      die "mvn could not fetch the Kafka jars (full log: $KAFKA_CACHE/mvn.log)"
    fi
    ls "$tmp_lib"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null 2>&1 ||
      die "mvn finished but kafka_2.13-$KAFKA_VERSION.jar is missing in $tmp_lib"
    rm -rf "$KAFKA_LIB"
    mv "$tmp_lib" "$KAFKA_LIB"
    touch "$KAFKA_LIB/.complete"
    log "Kafka jars cached: $(find "$KAFKA_LIB" -name '*.jar' | wc -l) jars"
  )
}

kafka_write_config() {
  mkdir -p "$KAFKA_DATA" "$KAFKA_LOGS"
  cat >"$KAFKA_CONFIG" <<EOF
# generated by scripts/services.sh
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,CONTROLLER://$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DATA
num.partitions=3
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.check.interval.ms=1000
log.cleaner.backoff.ms=1000
log.segment.delete.delay.ms=1000
EOF
  cat >"$KAFKA_LOG4J" <<'EOF'
# generated by scripts/services.sh
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=${kafka.logs.dir}/server.log
log4j.appender.file.MaxFileSize=50MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.request.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
EOF
}

kafka_format() {
  if [[ -f "$KAFKA_DATA/meta.properties" ]]; then
    return 0
  fi
  local cid
  if [[ -s "$KAFKA_CLUSTER_ID_FILE" ]]; then
    cid="$(cat "$KAFKA_CLUSTER_ID_FILE")"
  else
    cid="$(java -Dlog4j.configuration="file:$KAFKA_LOG4J" -Dkafka.logs.dir="$KAFKA_LOGS" -cp "$KAFKA_LIB/*" kafka.tools.StorageTool random-uuid 2>>"$KAFKA_LOGS/storage-tool.log" | tail -n 1)"
    [[ -n "$cid" ]] || die "kafka.tools.StorageTool random-uuid printed no id (see $KAFKA_LOGS/storage-tool.log)"
    printf '%s\n' "$cid" >"$KAFKA_CLUSTER_ID_FILE"
  fi
  log "formatting Kafka storage (cluster id $cid)..."
  if ! java -Dlog4j.configuration="file:$KAFKA_LOG4J" -Dkafka.logs.dir="$KAFKA_LOGS" \
    -cp "$KAFKA_LIB/*" kafka.tools.StorageTool format -t "$cid" -c "$KAFKA_CONFIG" \
    --ignore-formatted >>"$KAFKA_LOGS/storage-tool.log" 2>&1; then
    tail -n 30 "$KAFKA_LOGS/storage-tool.log" >&2 || true
    die "kafka storage format failed (log: $KAFKA_LOGS/storage-tool.log)"
  fi
}

kafka_log_tail() {
  log "---- tail of $KAFKA_LOGS/server.log ----"
  tail -n 40 "$KAFKA_LOGS/server.log" >&2 2>/dev/null || true
  if [[ -s "$KAFKA_LOGS/kafka.out" ]]; then
    log "---- tail of $KAFKA_LOGS/kafka.out ----"
    tail -n 20 "$KAFKA_LOGS/kafka.out" >&2 || true
  fi
}

kafka_start() {
  local pid
  if pid="$(kafka_pid)"; then
    if port_open "$KAFKA_HOST" "$KAFKA_PORT"; then
      log "kafka: already running (pid $pid) on $KAFKA_BROKERS_VALUE, reusing it"
      return 0
    fi
    log "kafka: process $pid is up but $KAFKA_BROKERS_VALUE does not answer yet; waiting..."
    kafka_wait "$pid" "$(date +%s)"
    return 0
  fi
  if port_open "$KAFKA_HOST" "$KAFKA_PORT"; then
    log "kafka: WARNING: $KAFKA_BROKERS_VALUE is already served by a process not started from" \
      "$SERVICES_DIR (another clone?); reusing it"
    return 0
  fi
  if port_open "$KAFKA_HOST" "$KAFKA_CONTROLLER_PORT"; then
    die "kafka: port $KAFKA_CONTROLLER_PORT (controller) is in use by another process"
  fi

  kafka_fetch_jars
  kafka_write_config
  kafka_format

  # Keep the previous run's log apart so readiness only looks at this run.
  local f
  for f in server.log kafka.out; do
    if [[ -f "$KAFKA_LOGS/$f" ]]; then mv -f "$KAFKA_LOGS/$f" "$KAFKA_LOGS/$f.prev"; fi
  done
  rm -f "$KAFKA_LOGS"/server.log.[0-9]*

  log "kafka: starting broker (logs: $KAFKA_LOGS/server.log)..."
  local t0
  t0="$(date +%s)"
  (
    cd "$KAFKA_DIR"
    # Do not leak the lock (fd 9) or the caller's stdout (fd 3) into the daemon.
    exec 9>&- 3>&-
    exec setsid nohup java -Xmx512m -Xms256m -XX:+UseG1GC -Djava.awt.headless=true \
      -Dkafka.logs.dir="$KAFKA_LOGS" -Dlog4j.configuration="file:$KAFKA_LOG4J" \
      -cp "$KAFKA_LIB/*" kafka.Kafka "$KAFKA_CONFIG" >"$KAFKA_LOGS/kafka.out" 2>&1 </dev/null
  ) &
  pid=$!
  printf '%s\n' "$pid" >"$KAFKA_PIDFILE"
  kafka_wait "$pid" "$t0"
}

# kafka_wait PID T0: wait until the broker logged "Kafka Server started" and the port answers.
kafka_wait() {
  local pid="$1" t0="$2" now
  while true; do
    if ! pid_alive "$pid"; then
      kafka_log_tail
      die "kafka: the broker process ($pid) exited during startup"
    fi
    if grep -q 'Kafka Server started' "$KAFKA_LOGS/server.log" 2>/dev/null &&
      port_open "$KAFKA_HOST" "$KAFKA_PORT"; then
      now="$(date +%s)"
      log "kafka: ready on $KAFKA_BROKERS_VALUE (pid $pid, $((now - t0)) s)"
      return 0
    fi
    now="$(date +%s)"
    if ((now - t0 >= KAFKA_START_TIMEOUT)); then
      kafka_log_tail
      die "kafka: not ready after ${KAFKA_START_TIMEOUT} s (pid $pid still running; 'bash scripts/services.sh stop' to stop it)"
    fi
    sleep 0.5
  done
}

kafka_stop() {
  local pid i
  if ! pid="$(kafka_pid)"; then
    rm -f "$KAFKA_PIDFILE"
    if port_open "$KAFKA_HOST" "$KAFKA_PORT"; then
      log "kafka: not started from $SERVICES_DIR (but $KAFKA_BROKERS_VALUE answers: another clone's broker?), leaving it alone"
    else
      log "kafka: not running"
    fi
    return 0
  fi
  log "kafka: stopping (pid $pid)..."
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 120; i++)); do
    pid_alive "$pid" || break
    sleep 0.5
  done
  if pid_alive "$pid"; then
    log "kafka: still running after 60 s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 1
  fi
  rm -f "$KAFKA_PIDFILE"
  log "kafka: stopped"
}

kafka_status() {
  local pid
  if pid="$(kafka_pid)"; then
    if port_open "$KAFKA_HOST" "$KAFKA_PORT"; then
      echo "kafka: running (pid $pid) on $KAFKA_BROKERS_VALUE"
      return 0
    fi
    echo "kafka: process $pid alive but $KAFKA_BROKERS_VALUE does not answer (starting or broken; log: $KAFKA_LOGS/server.log)"
    return 1
  fi
  if port_open "$KAFKA_HOST" "$KAFKA_PORT"; then
    echo "kafka: $KAFKA_BROKERS_VALUE answers, served by a process not started from $SERVICES_DIR"
    return 0
  fi
  echo "kafka: stopped"
  return 1
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL

PG_BIN=""
PG_BASE=""
PG_DATA=""
PG_SOCKDIR=""
PG_LOG=""

pg_find_bindir() {
  local c cands=()
  [[ -n "${PG_BINDIR:-}" ]] && cands+=("$PG_BINDIR")
  cands+=(/usr/lib/postgresql/15/bin)
  if command -v pg_config >/dev/null 2>&1; then
    cands+=("$(pg_config --bindir 2>/dev/null || true)")
  fi
  for c in "${cands[@]}"; do
    if [[ -n "$c" && -x "$c/initdb" && -x "$c/pg_ctl" && -x "$c/postgres" ]]; then
      PG_BIN="$c"
      return 0
    fi
  done
  die "PostgreSQL server binaries not found (tried: ${cands[*]}); install them: apt-get install -y postgresql-15"
}

# Run a command as the PostgreSQL OS user (postgres refuses to run as root).
as_pg() {
  if is_root; then
    if command -v runuser >/dev/null 2>&1; then
      (cd / && runuser -u "$PG_OS_USER" -- "$@")
    else
      local q
      q="$(printf '%q ' "$@")"
      (cd / && su -s /bin/sh "$PG_OS_USER" -c "$q")
    fi
  else
    "$@"
  fi
}

pg_ensure_os_user() {
  is_root || return 0
  if ! id "$PG_OS_USER" >/dev/null 2>&1; then
    log "postgres: creating system user '$PG_OS_USER'"
    useradd --system --user-group --no-create-home --home-dir / --shell /usr/sbin/nologin \
      "$PG_OS_USER" >&2
  fi
}

# Decide where the cluster lives. Normally $SERVICES_DIR/pg; when running as root and the
# postgres user cannot reach $SERVICES_DIR (e.g. repo under /root), fall back to /var/tmp.
pg_paths() {
  PG_BASE="$SERVICES_DIR/pg"
  if is_root && id "$PG_OS_USER" >/dev/null 2>&1 && [[ -d "$SERVICES_DIR" ]] &&
    ! (cd / && runuser -u "$PG_OS_USER" -- test -x "$SERVICES_DIR" -a -r "$SERVICES_DIR") 2>/dev/null; then
    PG_BASE="/var/tmp/skysentinel-pg-$(printf '%s' "$SERVICES_DIR" | cksum | cut -d' ' -f1)"
  fi
  PG_DATA="$PG_BASE/data"
  PG_SOCKDIR="$PG_BASE/run"
  PG_LOG="$PG_BASE/postgres.log"
  # unix socket paths are limited to ~107 bytes
  if ((${#PG_SOCKDIR} > 80)); then
    PG_SOCKDIR="/tmp/skysentinel-pg-$PG_PORT"
  fi
}

pg_ready() {
  "$PG_BIN/pg_isready" -q -h "$PG_HOST" -p "$PG_PORT" -t 2 >/dev/null 2>&1
}

pg_ours_running() {
  [[ -f "$PG_DATA/postmaster.pid" ]] || return 1
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1
}

pg_init() {
  if [[ -f "$PG_DATA/PG_VERSION" ]]; then
    local v
    v="$(cat "$PG_DATA/PG_VERSION")"
    if [[ "$v" != "$("$PG_BIN/postgres" --version | sed -E 's/.* ([0-9]+)(\.[0-9]+)*.*/\1/')" ]]; then
      die "postgres: $PG_DATA was made by PostgreSQL $v but $PG_BIN is another version; remove $PG_BASE to recreate it"
    fi
    return 0
  fi
  log "postgres: initdb into $PG_DATA..."
  rm -rf "$PG_DATA"
  mkdir -p "$PG_BASE" "$PG_DATA" "$PG_SOCKDIR"
  chmod 700 "$PG_DATA"
  if is_root; then chown -R "$PG_OS_USER:" "$PG_BASE" "$PG_SOCKDIR"; fi
  if ! as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U "$PG_USER" -A trust --no-sync -E UTF8 --locale=C \
    >"$PG_BASE/initdb.log" 2>&1; then
    tail -n 30 "$PG_BASE/initdb.log" >&2 || true
    rm -rf "$PG_DATA"
    die "postgres: initdb failed (log: $PG_BASE/initdb.log)"
  fi
}

pg_start() {
  pg_find_bindir
  pg_ensure_os_user
  mkdir -p "$SERVICES_DIR"
  pg_paths
  if pg_ours_running; then
    if pg_ready; then
      log "postgres: already running on $PG_HOST:$PG_PORT ($PG_DATA), reusing it"
      pg_create_db
      return 0
    fi
  elif pg_ready || port_open "$PG_HOST" "$PG_PORT"; then
    log "postgres: WARNING: $PG_HOST:$PG_PORT is already served by a server not started from" \
      "$SERVICES_DIR (another clone?); reusing it"
    pg_create_db
    return 0
  fi

  pg_init
  mkdir -p "$PG_SOCKDIR"
  if is_root; then chown "$PG_OS_USER:" "$PG_BASE" "$PG_SOCKDIR"; fi
  if is_root; then chown -R "$PG_OS_USER:" "$PG_DATA"; fi
  if [[ -f "$PG_LOG" ]]; then mv -f "$PG_LOG" "$PG_LOG.prev"; fi
  if is_root; then
    touch "$PG_LOG"
    chown "$PG_OS_USER:" "$PG_LOG"
  fi
  log "postgres: starting on $PG_HOST:$PG_PORT (log: $PG_LOG)..."
  local opts="-p $PG_PORT -k $PG_SOCKDIR -c listen_addresses=$PG_HOST -c fsync=off"
  opts+=" -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
  # fd 3 (caller's stdout) and fd 9 (lock) must not leak into the postmaster.
  if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 -o "$opts" start >&2 3>&- 9>&-; then
    log "---- tail of $PG_LOG ----"
    tail -n 30 "$PG_LOG" >&2 || true
    die "postgres: pg_ctl start failed"
  fi
  local i
  for ((i = 0; i < 60; i++)); do
    pg_ready && break
    sleep 0.5
  done
  pg_ready || die "postgres: started but pg_isready does not answer on $PG_HOST:$PG_PORT"
  pg_create_db
  log "postgres: ready on $PG_HOST:$PG_PORT"
}

pg_create_db() {
  local exists
  exists="$("$PG_BIN/psql" -X -q -At -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres \
    -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'" 2>/dev/null || true)"
  if [[ "$exists" != "1" ]]; then
    log "postgres: creating database $PG_DB"
    "$PG_BIN/createdb" -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" "$PG_DB" >&2 ||
      die "postgres: createdb $PG_DB failed"
  fi
}

pg_stop() {
  pg_find_bindir
  pg_paths
  if pg_ours_running; then
    log "postgres: stopping..."
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >&2 ||
      die "postgres: pg_ctl stop failed"
    log "postgres: stopped"
  elif pg_ready; then
    log "postgres: not started from $SERVICES_DIR (but $PG_HOST:$PG_PORT answers: another clone's server?), leaving it alone"
  else
    log "postgres: not running"
  fi
}

pg_status() {
  pg_find_bindir
  pg_paths
  if pg_ours_running; then
    if pg_ready; then
      echo "postgres: running on $PG_HOST:$PG_PORT (data: $PG_DATA)"
      return 0
    fi
    echo "postgres: server process up but not accepting connections on $PG_HOST:$PG_PORT (log: $PG_LOG)"
    return 1
  fi
  if pg_ready; then
    echo "postgres: $PG_HOST:$PG_PORT answers, served by a server not started from $SERVICES_DIR"
    return 0
  fi
  echo "postgres: stopped"
  return 1
}

# ---------------------------------------------------------------------------------------------

usage() {
  echo "usage: bash scripts/services.sh [start|stop|restart|status|env] [all|kafka|postgres]" >&2
}

cmd="${1:-start}"
# An optional second word limits the command to one service: `stop kafka`, `start postgres`.
only="${2:-all}"
case "$only" in all | kafka | postgres) ;; *)
  usage
  exit 2
  ;;
esac
want() { [[ "$only" == all || "$only" == "$1" ]]; }
case "$cmd" in
start)
  take_lock
  # Everything but the final export lines goes to stderr.
  exec 3>&1 1>&2
  if want kafka; then kafka_start; fi
  if want postgres; then pg_start; fi
  log "services up ($only); state in $SERVICES_DIR"
  print_env >&3
  ;;
stop)
  take_lock
  exec 1>&2
  rc=0
  if want kafka; then kafka_stop || rc=1; fi
  if want postgres; then pg_stop || rc=1; fi
  exit "$rc"
  ;;
restart)
  bash "$SCRIPT_DIR/services.sh" stop "$only"
  exec bash "$SCRIPT_DIR/services.sh" start "$only"
  ;;
status)
  rc=0
  if want kafka; then kafka_status || rc=3; fi
  if want postgres; then pg_status || rc=3; fi
  exit "$rc"
  ;;
env)
  print_env
  ;;
-h | --help | help)
  usage
  ;;
*)
  usage
  exit 2
  ;;
esac
