package http

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"fairway"
)

// DefaultWebhookReadTimeout is how long a webhook delivery's body may
// take to arrive unless the server says otherwise.
const DefaultWebhookReadTimeout = 10 * time.Second

// Webhook headers: GitHub's, and the generic source's.
const (
	HeaderGitHubEvent     = "X-GitHub-Event"
	HeaderGitHubDelivery  = "X-GitHub-Delivery"
	HeaderGitHubSignature = "X-Hub-Signature-256"
	HeaderDelivery        = "X-Fairway-Delivery"
	HeaderSignature       = "X-Fairway-Signature"
	HeaderTimestamp       = "X-Fairway-Timestamp"
)

func (s *Server) receiveWebhook(w http.ResponseWriter, r *http.Request) error {
	d := fairway.WebhookDelivery{Source: r.PathValue("source")}
	if d.Source == fairway.WebhookGitHub {
		d.Event, d.Delivery, d.Signature = r.Header.Get(HeaderGitHubEvent), r.Header.Get(HeaderGitHubDelivery), r.Header.Get(HeaderGitHubSignature)
	} else {
		d.Delivery, d.Signature, d.Timestamp = r.Header.Get(HeaderDelivery), r.Header.Get(HeaderSignature), r.Header.Get(HeaderTimestamp)
	}
	// Anyone can post here: a sender that trickles its body does not hold
	// the connection for long.
	timeout := s.WebhookReadTimeout
	if timeout <= 0 {
		timeout = DefaultWebhookReadTimeout
	}
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(timeout))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return errBodyTooLarge
		}
		return fairway.FieldError("body", "could not be read: %v", err)
	}
	d.Body = body
	out, err := s.service.ReceiveWebhook(r.Context(), d)
	if err != nil {
		return err
	}
	if rec, ok := w.(*statusRecorder); ok {
		rec.actor = "webhook:" + d.Source
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// ReceiveWebhook posts a signed delivery as its CI would.
func (c *Client) ReceiveWebhook(ctx context.Context, d fairway.WebhookDelivery) (*fairway.WebhookResult, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/api/v1/webhooks/"+pathEscape(d.Source), bytes.NewReader(d.Body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if d.Source == fairway.WebhookGitHub {
		req.Header.Set(HeaderGitHubEvent, d.Event)
		req.Header.Set(HeaderGitHubDelivery, d.Delivery)
		req.Header.Set(HeaderGitHubSignature, d.Signature)
	} else {
		req.Header.Set(HeaderDelivery, d.Delivery)
		req.Header.Set(HeaderSignature, d.Signature)
		req.Header.Set(HeaderTimestamp, d.Timestamp)
	}
	var out fairway.WebhookResult
	return &out, c.send(req, &out, nil)
}
