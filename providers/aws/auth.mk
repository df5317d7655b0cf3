# providers/aws/: signing, request encoding, shared config files,
# endpoints and region (pure code, no I/O beyond reading config files),
# and the credential chain.
LIB_OBJS += providers/aws/env.o
LIB_OBJS += providers/aws/sigv4.o
LIB_OBJS += providers/aws/query.o
LIB_OBJS += providers/aws/awsconfig.o
LIB_OBJS += providers/aws/endpoint.o
LIB_OBJS += providers/aws/creds.o
LIB_OBJS += providers/aws/creds_sts.o
LIB_OBJS += providers/aws/creds_metadata.o
LIB_OBJS += providers/aws/creds_process.o

HEADERS += providers/aws/env.h
HEADERS += providers/aws/sigv4.h
HEADERS += providers/aws/query.h
HEADERS += providers/aws/awsconfig.h
HEADERS += providers/aws/endpoint.h
HEADERS += providers/aws/http.h
HEADERS += providers/aws/creds.h
HEADERS += providers/aws/creds_internal.h

UNIT_TESTS += providers/aws/env_test
UNIT_TESTS += providers/aws/sigv4_test
UNIT_TESTS += providers/aws/query_test
UNIT_TESTS += providers/aws/awsconfig_test
UNIT_TESTS += providers/aws/endpoint_test
UNIT_TESTS += providers/aws/creds_test
UNIT_TESTS += providers/aws/creds_sts_test
UNIT_TESTS += providers/aws/creds_metadata_test
UNIT_TESTS += providers/aws/creds_process_test

# The fixture of the credential suites (scripted transport, files, env).
TEST_SUPPORT_OBJS += tests/unit/support/creds_testutil.o
HEADERS += tests/unit/support/creds_testutil.h

TEST_TOOLS += sigv4_sign
INTEGRATION_TESTS += tests/integration/sigv4_differential.py
TEST_TOOLS += creds_probe
INTEGRATION_TESTS += tests/integration/creds_chain.py

# The parsers of untrusted input (INI files, STS XML, credentials JSON).
FUZZ_TARGETS += aws_auth_fuzz
