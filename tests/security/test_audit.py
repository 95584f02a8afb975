"""test_audit.py - placeholder until its findings are reproduced (issue 11)."""
import sys
sys.exit("test_audit.py is not written yet")
