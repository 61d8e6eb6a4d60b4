"""The starting IAM policy for the credentials that deploy a stack (make deployer-policy)."""
