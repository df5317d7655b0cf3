# providers/aws/: signing, request encoding, shared config files,
# endpoints and region (pure code, no I/O beyond reading config files).
HEADERS += providers/aws/env.h
HEADERS += providers/aws/sigv4.h
HEADERS += providers/aws/query.h
HEADERS += providers/aws/awsconfig.h
HEADERS += providers/aws/endpoint.h
HEADERS += providers/aws/http.h
HEADERS += providers/aws/creds.h
