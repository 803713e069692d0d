# lib-sshd.sh — a throwaway OpenSSH server on 127.0.0.1 for the ssh tests
# (t0603 pull_staging, t0952 session --ssh): host and client keys in
# $TRASH/ssh, a random port, root logs in with the client key only, stream
# and TCP forwarding allowed; stopped at exit. Needs root, /usr/sbin/sshd and
# ssh-keygen (the caller checks, to skip with its own words). Sets S, PORT,
# SSHD and SSH_BASE (ssh options that trust the throwaway host key and use
# the client key; add -p "$PORT").
S=$TRASH/ssh
mkdir -p "$S" /run/sshd && chmod 700 "$S"
ssh-keygen -q -t ed25519 -N '' -f "$S/host_key" && ssh-keygen -q -t ed25519 -N '' -f "$S/id" &&
    cp "$S/id.pub" "$S/authorized_keys" || skip_all "ssh-keygen failed"
start_sshd() {
    PORT=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 30000))
    cat >"$S/sshd_config" <<EOF2
Port $PORT
ListenAddress 127.0.0.1
HostKey $S/host_key
PidFile $S/sshd.pid
AuthorizedKeysFile $S/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowStreamLocalForwarding yes
AllowTcpForwarding yes
StrictModes no
UsePAM no
PrintMotd no
EOF2
    /usr/sbin/sshd -D -f "$S/sshd_config" -E "$S/sshd.log" &
    SSHD=$!
    i=0
    while [ $i -lt 100 ]; do
        ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes \
            -o LogLevel=ERROR -p "$PORT" -i "$S/id" root@127.0.0.1 true 2>/dev/null && return 0
        kill -0 $SSHD 2>/dev/null || return 1
        i=$((i + 1)); sleep 0.1
    done
    return 1
}
start_sshd || start_sshd || skip_all "cannot start a throwaway sshd (see $S/sshd.log)"
test_at_exit "kill $SSHD"
SSH_BASE="-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR -i $S/id"
