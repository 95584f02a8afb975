/*
 * scep_test_ca.h - two fixed CAs for the SCEP fuzzer and its corpus.
 *
 * TEST-ONLY KEY MATERIAL, public on purpose: the corpus in
 * tests/fuzz/corpus/scep/ holds requests encrypted to these CAs, so the
 * fuzzer reaches decryption and CSR parsing.  Never use them for anything
 * else.  Made with ap_x509_make_ca() (valid 100 years): regenerating them
 * means regenerating the corpus (tests/fuzz/gen_scep_corpus.c).
 */
#ifndef SCEP_TEST_CA_H
#define SCEP_TEST_CA_H

static const char scep_test_ec_ca_key[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgMuyxtbYmfDeiqyeI\n"
    "9uVpaJfYPEKBUseqeNvqGn+fyyyhRANCAATXKo2EVAYeGhZ0F+PSb0dXxoL9cX5W\n"
    "qOjUOVFEGivELgJMaC38H3lk7FgtpFE1RXk2ZrnYSnH3VwygStGTiURM\n"
    "-----END PRIVATE KEY-----\n";

static const char scep_test_ec_ca_cert[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBsTCCAVigAwIBAgIQXm28K+YNBJZVwIK2z1yOsDAKBggqhkjOPQQDAjA4MRAw\n"
    "DgYDVQQKDAdBcmRvaXNlMSQwIgYDVQQDDBtBcmRvaXNlIGZ1enogQ0EgKHRlc3Qg\n"
    "b25seSkwIBcNMjYxMTI0MDMxNDA3WhgPMjEyNjEwMzEwMzE5MDdaMDgxEDAOBgNV\n"
    "BAoMB0FyZG9pc2UxJDAiBgNVBAMMG0FyZG9pc2UgZnV6eiBDQSAodGVzdCBvbmx5\n"
    "KTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABNcqjYRUBh4aFnQX49JvR1fGgv1x\n"
    "flao6NQ5UUQaK8QuAkxoLfwfeWTsWC2kUTVFeTZmudhKcfdXDKBK0ZOJREyjQjBA\n"
    "MA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgEGMB0GA1UdDgQWBBTi6BA+\n"
    "Z5bpqdc7q4ni58GBjqiIDzAKBggqhkjOPQQDAgNHADBEAiAvvyJhooR2wDMB5pBR\n"
    "8n7fH+1kjOLbf7+Y3+Uydp9vrQIgefsl0urlOVAsdkDd2dlVPgP+db65fhYZBgQR\n"
    "cnzs+lg=\n"
    "-----END CERTIFICATE-----\n";

static const char scep_test_rsa_ca_key[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCjodbXeB2A7OeO\n"
    "Ek3n+l/cmtCjuCgVI7pzCOLh11RmdYWwg/cY290TBl/7VLBKBc8squ+erxlrGpFi\n"
    "koJVQJl11hXgB/JSEwmC+DdCbf3QAb4YkO/rsuP2mo/KpH8gSdKzdOt0dW6SUiVh\n"
    "JzLkKJbW9Qg4XxGkhaDV4uOqeeW6pO7QY/lG8u52dYeWkIOvWxjPxqC6dFJ1czJc\n"
    "bvRjDb9XDRjd2EXdeEyHDwUOtyGedOISkNpe3/XFtgNDjDB9yRL64QMDpVyYBUMb\n"
    "rorgAitzI7ftTMsynKFpXL3iKgjQ0kXTbgvgFePlVax0IgTgqRSm5U8RAKD7TZdY\n"
    "ltgP4IFPAgMBAAECggEACoK6cSFnC8FWklqnTxpXDq2RxKJvTgRQf/53IbiaKZwC\n"
    "Qrdcp5J1MzlP8FidRklJ6H2bt16vTEuVlnZWEYcnvwOfE2056dRijQYdTpK6y0ys\n"
    "BZnxv1BrXODKvGKFQ/FaARWmi4GA4RHjvXIuI60JG1+mmoWzdWpGotaDIeUt63zT\n"
    "B+Te7LiT0/4G8QvWA7KxNWvudj/S7b/GwIRVJV2uXQHm7BfeGNvgpAaUq2AbZlsL\n"
    "Hyf3FBJVSpWuwquVLX61aUZYHXnSXnU5q1vBuKBB8idlKq7Z+q1SGyBf5iSl1Mri\n"
    "knb+S4lfxe+CfZCcGVWIuNQrM68vcj+uN4Z+6VC6UQKBgQDTBr5s15QtpcScTJUT\n"
    "6s6At7L0IkqanroF31h8fxFbFO+l3ya/R5ItaPgeFoxh1eoLoMZKFa6x48qG+iNi\n"
    "l5mwBSuwtT2X4QiFr0RL/g+t4obuGNZHuno3gvP0OktjIBSz79SSPjc9P/G/7MRP\n"
    "XuXSrqqCYvf1xEG83LFY9UdRVwKBgQDGgVjA5oL7+KdVxF7cd8f+RbKqSvRQYdwc\n"
    "RkAGEWxdHyG7CaHYRfPQg2O04gZLr0IJVRUgKnUHVq5oqdZGoJoy+tTW09TlReFt\n"
    "a2+2wtpk7l1NDvFvnL7bTuqpRaUKBj1gGltrp1zrUzH9xlIyA3pHhaU9WpiQNUuY\n"
    "2teVnbD8yQKBgDIp6TyAZqYPQNSS0+FfMOWiRXUJbcihsMDSnftCTYLkUC+TA2f3\n"
    "AIWw7UJhw89CBZfsCRb1XojFCJDbh2vZc9xG7mLcQp8HDHqS9l5GL737Gm4hE1cL\n"
    "uh/WDl3hOah/qMw5V8PH7GOv/qzMAMKJYYKaqMfD9QPEOohFwhbOf7yTAoGBALzT\n"
    "K58LZwvS4zJ1wprLokWg/Sx6cl7IR/3pYVukVUVbqNVneznkiOIPKdhVrRFvnEyO\n"
    "T7MyT/J0JSHQdNDoUuYtrirQhFK4H5DbQwBB6EdcawozLb0zCGZLcnMkmbKobtet\n"
    "GsuT/5KmqAY0EdobbsT8P0vWkwuSdt/nRG3A/CvpAoGAeJJ3VzlWLcX2rwPH2YzO\n"
    "avfdZhqKVdxjAt5+JZqPLQa7RMox+TH19AsXKUCj8lhBzlZFYdi3jBxGvjCglHYr\n"
    "d01Zqx8xWHERrA4fLmlesNau5SCYn+74eqURsVAiwJ0h+4HGAujM4pFpTLL4XOWt\n"
    "oCk0I/rRstP4vgM+VEfnWag=\n"
    "-----END PRIVATE KEY-----\n";

static const char scep_test_rsa_ca_cert[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIDRjCCAi6gAwIBAgIQXX10sr/W1KHuJCrti/VA+jANBgkqhkiG9w0BAQsFADA8\n"
    "MRAwDgYDVQQKDAdBcmRvaXNlMSgwJgYDVQQDDB9BcmRvaXNlIGZ1enogUlNBIENB\n"
    "ICh0ZXN0IG9ubHkpMCAXDTI2MTEyNDAzMTQxNloYDzIxMjYxMDMxMDMxOTE2WjA8\n"
    "MRAwDgYDVQQKDAdBcmRvaXNlMSgwJgYDVQQDDB9BcmRvaXNlIGZ1enogUlNBIENB\n"
    "ICh0ZXN0IG9ubHkpMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAo6HW\n"
    "13gdgOznjhJN5/pf3JrQo7goFSO6cwji4ddUZnWFsIP3GNvdEwZf+1SwSgXPLKrv\n"
    "nq8ZaxqRYpKCVUCZddYV4AfyUhMJgvg3Qm390AG+GJDv67Lj9pqPyqR/IEnSs3Tr\n"
    "dHVuklIlYScy5CiW1vUIOF8RpIWg1eLjqnnluqTu0GP5RvLudnWHlpCDr1sYz8ag\n"
    "unRSdXMyXG70Yw2/Vw0Y3dhF3XhMhw8FDrchnnTiEpDaXt/1xbYDQ4wwfckS+uED\n"
    "A6VcmAVDG66K4AIrcyO37UzLMpyhaVy94ioI0NJF024L4BXj5VWsdCIE4KkUpuVP\n"
    "EQCg+02XWJbYD+CBTwIDAQABo0IwQDAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB\n"
    "/wQEAwIBBjAdBgNVHQ4EFgQUczNxA1p5yTeXAhBlRT96Ega3zQEwDQYJKoZIhvcN\n"
    "AQELBQADggEBAKNjMKHtiOd0yBwwuRDw/VgT2vktKkuRbWBn0qCY7IQyOUCP/ACA\n"
    "z/aWMJU3jgYN0lzmzQmj6mhdyKxRovxuyEYGP+Hmj0zeiyQjifabRgsNYFnBHgtU\n"
    "IJSEN9psuss7bYarQZk/2lvtONdSDWfLDWLMe+wXYVf1QezB0J0Te0GnJMcpwRPg\n"
    "1Xwi5mbYLUp3gh9nBv/RnxIzxZNQGI+ZplUhykf38eE1FVkQPM0/eqzq0b8oIXyM\n"
    "Ys8vrlAsfA2eka3aK4CSovc18pjkLxfnTBKE9m9iIXon5pfuN5hTHqYibQmgKQ5W\n"
    "I+MR+pmlZTglMT1hSD+gVhh8bUZwwdLfvy8=\n"
    "-----END CERTIFICATE-----\n";

#endif
