#!/bin/bash
# Turns an Amazon Linux 2023 instance into a NAT for the VPC CIDR given as $1.
set -euo pipefail
vpc_cidr="$1"

dnf install -y iptables-services
sysctl -w net.ipv4.ip_forward=1
echo "net.ipv4.ip_forward = 1" > /etc/sysctl.d/90-multitier-nat.conf

iface=$(ip route show default | awk '{print $5; exit}')
iptables -t nat -F POSTROUTING
iptables -t nat -A POSTROUTING -o "$iface" -s "$vpc_cidr" -j MASQUERADE
iptables -F FORWARD
iptables -A FORWARD -s "$vpc_cidr" -j ACCEPT
iptables -A FORWARD -m state --state RELATED,ESTABLISHED -j ACCEPT
iptables -P FORWARD DROP
service iptables save
systemctl enable --now iptables
