#!/bin/bash
# Runs at every boot of the bastion: claims the bastion's Elastic IP for this instance, so the
# SSH address stays the same when the Auto Scaling group replaces the instance.
set -euo pipefail
source /etc/multitier/bastion.env

token=$(curl -sS -X PUT http://169.254.169.254/latest/api/token \
  -H "X-aws-ec2-metadata-token-ttl-seconds: 300")
instance_id=$(curl -sS -H "X-aws-ec2-metadata-token: $token" \
  http://169.254.169.254/latest/meta-data/instance-id)

aws ec2 associate-address --region "$REGION" --allocation-id "$ALLOCATION_ID" \
  --instance-id "$instance_id" --allow-reassociation
