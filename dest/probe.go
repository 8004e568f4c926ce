package dest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"path"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// ErrNoCredentials is returned by Probe when no credentials were found for
// an object store.
var ErrNoCredentials = errors.New("no credentials")

// Probe checks, before anything is paid for, that target (a path or URL
// as for Open) can be written: for a local file, that a temporary file can
// be created beside it (its directory is created if missing) and removed;
// for an object, that the store's credentials can be found (for s3://, the
// AWS SDK's chain: a clear ErrNoCredentials error naming what to set,
// rather than the SDK's last attempt, often the EC2 instance metadata) and
// that a small probe object beside it can be written and deleted. The
// probe object is named ".serpstat-export-probe-<random>".
func Probe(ctx context.Context, target string, opts S3Options) error {
	t, err := parseTarget(target)
	if err != nil {
		return err
	}
	if t.path != "" {
		f, err := Create(t.path)
		if err != nil {
			return err
		}
		return f.Abort()
	}
	b, release, err := openBucket(ctx, t, opts)
	if err != nil {
		return err
	}
	defer release()
	if b.creds != nil {
		if _, err := b.creds.Retrieve(ctx); err != nil {
			return fmt.Errorf("%s: %w for S3: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with a profile in ~/.aws/credentials or ~/.aws/config (SSO included), or run where an instance or task role is available", t.name, ErrNoCredentials)
		}
	}
	rnd := make([]byte, 8)
	_, _ = rand.Read(rnd)
	key := path.Join(path.Dir(t.key), ".serpstat-export-probe-"+hex.EncodeToString(rnd))
	if err := b.b.WriteAll(ctx, key, []byte{}, nil); err != nil {
		return fmt.Errorf("%s: cannot write beside it: %w", t.name, err)
	}
	if err := b.b.Delete(ctx, key); err != nil {
		return fmt.Errorf("%s: cannot delete the probe object %s: %w", t.name, key, err)
	}
	return nil
}

// credentialsOf is the credentials provider of an AWS configuration, nil
// for anonymous access.
func credentialsOf(cfg aws.Config) aws.CredentialsProvider {
	if _, anon := cfg.Credentials.(aws.AnonymousCredentials); anon {
		return nil
	}
	return cfg.Credentials
}
