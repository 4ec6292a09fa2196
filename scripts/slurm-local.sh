#!/usr/bin/env bash
# A single-node Slurm on this machine, for the cluster test and for trying `ganvas ... --shard` job arrays:
# munged + slurmctld + slurmd started directly (no systemd; works in a container as root), configured for this
# host only, all state under one directory.
#
#   scripts/slurm-local.sh start    # prints "export SLURM_CONF=…"; waits until the node is idle
#   scripts/slurm-local.sh status
#   scripts/slurm-local.sh stop
#
# Environment: GANVAS_SLURM_DIR (default /tmp/ganvas-slurm), GANVAS_SLURM_CPUS (default: all cores).
# Needs Debian's slurm-wlm and munge (scripts/system-deps.sh installs them) and root (slurmd runs jobs as any user).
set -euo pipefail

dir=${GANVAS_SLURM_DIR:-/tmp/ganvas-slurm}
conf=$dir/slurm.conf
host=$(hostname -s)
cpus=${GANVAS_SLURM_CPUS:-$(nproc)}
mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)
export SLURM_CONF=$conf

die() { echo "slurm-local: $*" >&2; exit 1; }

need() {
  for b in munged slurmctld slurmd sbatch sinfo scontrol; do
    command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] || die "$b is missing: install Debian's slurm-wlm and munge (bash scripts/system-deps.sh)"
  done
  [ "$(id -u)" = 0 ] || die "must run as root (slurmd runs the jobs; munged and slurmctld are started directly, without systemd)"
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

write_conf() {
  mkdir -p "$dir/state" "$dir/spool" "$dir/log" "$dir/run"
  cat > "$conf" <<CONF
# Written by ganvas scripts/slurm-local.sh: one node, this host.
ClusterName=ganvas-local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=${GANVAS_SLURMCTLD_PORT:-6817}
SlurmdPort=${GANVAS_SLURMD_PORT:-6818}
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
# No cgroups in a container: track processes by parent id, no task binding, no accounting.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
# Cores are the consumable resource, so array tasks asking for one CPU run side by side.
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SchedulerType=sched/backfill
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
MinJobAge=300
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
}

start_munge() {
  if munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then return; fi
  [ -s /etc/munge/munge.key ] || { mungekey --create --keyfile=/etc/munge/munge.key 2>/dev/null || dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null; }
  chown munge:munge /etc/munge/munge.key 2>/dev/null || true
  chmod 600 /etc/munge/munge.key
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge 2>/dev/null || true
  chmod 755 /run/munge
  if id munge >/dev/null 2>&1; then
    runuser -u munge -- /usr/sbin/munged --force || die "munged did not start (see /var/log/munge/munged.log)"
  else
    /usr/sbin/munged --force || die "munged did not start (see /var/log/munge/munged.log)"
  fi
  for _ in $(seq 50); do
    munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1 && return
    sleep 0.1
  done
  die "munge does not answer (munge -n | unmunge failed; see /var/log/munge/munged.log)"
}

node_state() { sinfo -h -N -o '%T' 2>/dev/null | head -1; }

start() {
  need
  write_conf
  start_munge
  pid_alive "$dir/run/slurmctld.pid" || /usr/sbin/slurmctld -f "$conf" || die "slurmctld did not start; see $dir/log/slurmctld.log"
  for _ in $(seq 100); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.2; done
  scontrol ping 2>/dev/null | grep -q UP || die "slurmctld does not answer; see $dir/log/slurmctld.log"
  pid_alive "$dir/run/slurmd.pid" || /usr/sbin/slurmd -f "$conf" -N "$host" || die "slurmd did not start; see $dir/log/slurmd.log"
  local state=""
  for _ in $(seq 150); do
    state=$(node_state)
    case "$state" in
      idle*|mixed*|allocated*) echo "export SLURM_CONF=$conf"; return 0 ;;
      down*|drain*) scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true ;;
    esac
    sleep 0.2
  done
  die "node $host is '$state', not idle, after 30 s; see $dir/log/slurmd.log and $dir/log/slurmctld.log"
}

stop() {
  for d in slurmd slurmctld; do
    if pid_alive "$dir/run/$d.pid"; then
      kill "$(cat "$dir/run/$d.pid")" 2>/dev/null || true
      for _ in $(seq 50); do pid_alive "$dir/run/$d.pid" || break; sleep 0.1; done
    fi
  done
  # munged may serve other users of this machine: it is left running.
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) sinfo 2>&1; scontrol ping 2>&1 ;;
  conf) echo "$conf" ;;
  *) echo "usage: $0 start|stop|status|conf" >&2; exit 2 ;;
esac
