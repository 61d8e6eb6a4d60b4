"""What every tier builds with: EC2 and IAM helpers, cloud-init documents, names and tags, the
records components hand each other, the shared file system, and the stack outputs."""
