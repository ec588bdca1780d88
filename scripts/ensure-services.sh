#!/usr/bin/env bash
# Make sure PostgreSQL, Redis and RabbitMQ answer on localhost; start any that is down.
# Exits non-zero with a message naming what is missing when a service cannot be started.
set -u

PG_HOST=127.0.0.1 PG_PORT=5432 REDIS_PORT=6379 AMQP_PORT=5672
missing=()

say() { printf '[services] %s\n' "$*"; }

wait_for() {  # wait_for NAME SECONDS CHECK-COMMAND...
    local name=$1 secs=$2; shift 2
    for _ in $(seq "$secs"); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 1
    done
    return 1
}

pg_up() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; }
redis_up() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping | grep -q PONG; }
amqp_up() {
    (exec 3<>/dev/tcp/127.0.0.1/$AMQP_PORT) 2>/dev/null && rabbitmqctl -q await_startup --timeout 5
}

if pg_up; then say "PostgreSQL is up on $PG_HOST:$PG_PORT"
else
    say "PostgreSQL is down: starting it"
    if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
        for version in $(ls /etc/postgresql); do
            pg_ctlcluster --skip-systemctl-redirect "$version" main start >/dev/null 2>&1 || true
        done
    fi
    if wait_for postgres 30 pg_up; then say "PostgreSQL started"
    else missing+=("PostgreSQL on $PG_HOST:$PG_PORT (start it with: pg_ctlcluster --skip-systemctl-redirect <version> main start)"); fi
fi

if redis_up; then say "Redis is up on 127.0.0.1:$REDIS_PORT"
else
    say "Redis is down: starting it"
    if command -v redis-server >/dev/null 2>&1; then
        mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
        redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" \
            --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log >/dev/null 2>&1 || true
    fi
    if wait_for redis 20 redis_up; then say "Redis started"
    else missing+=("Redis on 127.0.0.1:$REDIS_PORT (start it with: redis-server --daemonize yes --port $REDIS_PORT)"); fi
fi

if amqp_up; then say "RabbitMQ is up on 127.0.0.1:$AMQP_PORT"
else
    say "RabbitMQ is down: starting it (this takes a few seconds)"
    if command -v rabbitmq-server >/dev/null 2>&1; then
        rabbitmq-server -detached >/dev/null 2>&1 || true
    fi
    if wait_for rabbitmq 90 amqp_up; then say "RabbitMQ started"
    else missing+=("RabbitMQ on 127.0.0.1:$AMQP_PORT (start it with: rabbitmq-server -detached)"); fi
fi

if [ ${#missing[@]} -gt 0 ]; then
    say "cannot continue, these services are not available:"
    for m in "${missing[@]}"; do say "  - $m"; done
    exit 1
fi
