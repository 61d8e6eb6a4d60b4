"""What a stack costs a month, per component, from a dated price table (make cost)."""
