#!/usr/bin/env bash
# Start a single-node SLURM (controller + compute daemon, munge auth, no accounting) on
# this machine, for tests/workflow/test_slurm.py. Debian/Ubuntu, as root:
#   apt-get update && apt-get install -y slurm-wlm munge && bash tests/cluster/start_local_slurm.sh
# Idempotent: does nothing when `sinfo` already answers.
set -euo pipefail
if sinfo -h >/dev/null 2>&1; then echo "SLURM already running"; exit 0; fi
[ "$(id -u)" -eq 0 ] || { echo "start_local_slurm.sh must run as root" >&2; exit 1; }
host=$(hostname -s)
mem=$(( $(free -m | awk '/Mem:/{print $2}') - 2000 ))
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=local
SlurmctldHost=${host}
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SlurmctldPidFile=/var/run/slurmctld.pid
SlurmdPidFile=/var/run/slurmd.pid
SlurmdSpoolDir=/var/spool/slurmd
StateSaveLocation=/var/spool/slurmctld
SlurmUser=root
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
GresTypes=gpu
MinJobAge=3600
NodeName=${host} CPUs=$(nproc) RealMemory=${mem} Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP
CONF
# One GPU GRES, so that jobs asking for a GPU (--gpus=1, what the profile's `gpu: 1`
# becomes) are scheduled and granted one. No hardware: Slurm 22.05's gpu plugin ignores a
# gpu line without File= (slurmd -G lists nothing, the node goes INVALID "0 < 1"), so the
# count is carried by a harmless device file; SLURM sets SLURM_JOB_GPUS / CUDA_VISIBLE_DEVICES
# in the job as on a real GPU node, and TensorFlow (finding no CUDA driver) uses the CPU.
cat > /etc/slurm/gres.conf <<CONF
NodeName=${host} Name=gpu Count=1 File=/dev/null
CONF
if [ ! -f /etc/munge/munge.key ]; then
  dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
fi
chown munge:munge /etc/munge/munge.key /run/munge
chmod 400 /etc/munge/munge.key
pgrep -x munged >/dev/null || su -s /bin/sh munge -c munged
pgrep -x slurmctld >/dev/null || slurmctld
pgrep -x slurmd >/dev/null || slurmd
sleep 2
# a node left INVALID/DRAINED by an earlier configuration (saved state) comes back
scontrol update nodename="${host}" state=resume >/dev/null 2>&1 || true
for _ in $(seq 1 20); do
  if sinfo -h -o %t 2>/dev/null | grep -q idle; then sinfo; exit 0; fi
  sleep 1
done
echo "SLURM did not come up; see /var/log/slurm/" >&2
exit 1
