"""test_procedures.py - placeholder until its findings are reproduced (issue 11)."""
import sys
sys.exit("test_procedures.py is not written yet")
