package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"

	"fairway"
	fairwayhttp "fairway/http"
	"fairway/ledger"
	"fairway/postgres"

	"github.com/jackc/pgx/v5"
)

// PostgresSchema names a fresh schema on the server at url for one
// measurement; drop removes it with everything in it.
func PostgresSchema(ctx context.Context, url string) (schema string, drop func() error, err error) {
	b := make([]byte, 6)
	rand.Read(b)
	schema = "fairway_bench_" + hex.EncodeToString(b)
	drop = func() error {
		conn, err := pgx.Connect(context.Background(), url)
		if err != nil {
			return err
		}
		defer conn.Close(context.Background())
		_, err = conn.Exec(context.Background(), `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`)
		return err
	}
	return schema, drop, nil
}

// PostgresAPIWrites serves replicas ledgers on one PostgreSQL schema, each
// with its own store (connection pool and group commit) and HTTP server,
// as that many `fairway serve` replicas would be, and sends total task
// creations from clients concurrent clients spread over them round robin,
// as a load balancer would. It returns acknowledged writes per second;
// each is committed before its answer.
func PostgresAPIWrites(ctx context.Context, url string, replicas, clients, total int) (float64, error) {
	schema, drop, err := PostgresSchema(ctx, url)
	if err != nil {
		return 0, err
	}
	defer drop()
	var urls []string
	var token string
	for r := range replicas {
		s, err := postgres.Open(ctx, url, postgres.Options{Schema: schema})
		if err != nil {
			return 0, err
		}
		defer s.Close()
		l := ledger.New(s, nil)
		if r == 0 {
			out, err := l.CreateActor(ctx, fairway.ActorCreate{Name: "alice", Kind: fairway.KindHuman, IssueToken: true})
			if err != nil {
				return 0, err
			}
			token = out.Token
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		srv := &http.Server{Handler: fairwayhttp.NewServer(l, ledger.TokenAuth{L: l}, nil)}
		go srv.Serve(ln)
		defer srv.Close()
		urls = append(urls, "http://"+ln.Addr().String())
	}
	transport := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	return parallel(clients, total, func(i int64) error {
		body := fmt.Sprintf(`{"key":"W-%d","title":"write %d","risk":"low"}`, i, i)
		req, err := http.NewRequestWithContext(ctx, "POST", urls[int(i)%len(urls)]+"/api/v1/tasks", bytes.NewBufferString(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err == nil && resp.StatusCode != http.StatusCreated {
			err = fmt.Errorf("status %s", resp.Status)
		}
		if resp != nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return err
	})
}

// PostgresGraph opens a ledger on a fresh PostgreSQL schema filled by
// Graph; close closes it and drops the schema.
func PostgresGraph(ctx context.Context, url string, tasks, edges int) (l *ledger.Ledger, close func(), err error) {
	schema, drop, err := PostgresSchema(ctx, url)
	if err != nil {
		return nil, nil, err
	}
	s, err := postgres.Open(ctx, url, postgres.Options{Schema: schema})
	if err != nil {
		drop()
		return nil, nil, err
	}
	close = func() { s.Close(); drop() }
	l = ledger.New(s, nil)
	if _, err := l.CreateActor(ctx, fairway.ActorCreate{Name: "alice", Kind: fairway.KindHuman}); err != nil {
		close()
		return nil, nil, err
	}
	if err := Graph(ctx, s, tasks, edges, 1); err != nil {
		close()
		return nil, nil, err
	}
	return l, close, nil
}
