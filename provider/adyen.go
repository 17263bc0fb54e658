package provider

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// adyen verifies Adyen standard webhooks (notifications). The signature is
// in the body, once per notification item: additionalData.hmacSignature is
// the base64 HMAC-SHA256, keyed with the HMAC key shown hex-encoded in the
// Customer Area (decoded to bytes), of
//
//	pspReference:originalReference:merchantAccountCode:merchantReference:value:currency:eventCode:success
//
// with value and currency taken from the item's amount, an empty string for
// any field the item lacks, and no escaping (Adyen's libraries join the raw
// values with ':'). A request passes only when EVERY item verifies with one
// of the configured keys: an unsigned or tampered item among signed ones
// rejects the whole request (Adyen retries it; a partial accept could not
// be expressed in one answer). There is no signed time and so no tolerance.
//
// The event ID is pspReference:eventCode:success (a failed and a later
// successful AUTHORISATION of one payment are different events), the type
// the eventCode; a batch of items gets a digest of the item IDs (batchID)
// and their common eventCode (or "batch"). live "false" marks the event as
// a test.
type adyen struct {
	keys [][]byte
}

func newAdyen(cfg Config) (Scheme, error) {
	if err := plainConfig("adyen", cfg); err != nil {
		return nil, err
	}
	keys := make([][]byte, len(cfg.Secrets))
	for i, s := range cfg.Secrets {
		k, err := hex.DecodeString(strings.TrimSpace(s))
		if err != nil || len(k) == 0 {
			return nil, fmt.Errorf("provider adyen: secret %d is not hex: give the HMAC key exactly as the Customer Area shows it (Developers > Webhooks > the webhook > Security)", i+1)
		}
		keys[i] = k
	}
	return &adyen{keys: keys}, nil
}

// adyenBody is the part of a standard notification that is signed or
// identifies the event. Numbers stay json.Number so that "value" is signed
// exactly as sent.
type adyenBody struct {
	Live              any `json:"live"`
	NotificationItems []struct {
		Item *adyenItem `json:"NotificationRequestItem"`
	} `json:"notificationItems"`
}

type adyenItem struct {
	PSPReference        any `json:"pspReference"`
	OriginalReference   any `json:"originalReference"`
	MerchantAccountCode any `json:"merchantAccountCode"`
	MerchantReference   any `json:"merchantReference"`
	Amount              struct {
		Value    any `json:"value"`
		Currency any `json:"currency"`
	} `json:"amount"`
	EventCode      any `json:"eventCode"`
	Success        any `json:"success"`
	AdditionalData struct {
		HMACSignature any `json:"hmacSignature"`
	} `json:"additionalData"`
}

// scalarString renders a decoded JSON scalar as text: strings as they are,
// numbers as sent (json.Number), booleans as true/false, anything else
// (missing, null, objects) as "". It is how Adyen's libraries put a field
// in the signed string.
func scalarString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		if x {
			return "true"
		}
		return "false"
	}
	return ""
}

// signedString is the string Adyen signs for one item.
func (it *adyenItem) signedString() string {
	return strings.Join([]string{
		scalarString(it.PSPReference), scalarString(it.OriginalReference), scalarString(it.MerchantAccountCode),
		scalarString(it.MerchantReference), scalarString(it.Amount.Value), scalarString(it.Amount.Currency),
		scalarString(it.EventCode), scalarString(it.Success),
	}, ":")
}

// parseAdyen decodes a standard notification and returns its items. It
// fails with a *VerifyError when the body is not one, or an item has no
// signature: the signatures are in the body, so an unparseable body is
// an unsigned request.
func parseAdyen(body []byte) (*adyenBody, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var b adyenBody
	if err := dec.Decode(&b); err != nil {
		return nil, Reject(ReasonMissingSignature, "the body is not an Adyen notification (JSON with notificationItems), so it carries no hmacSignature")
	}
	if len(b.NotificationItems) == 0 {
		return nil, Reject(ReasonMissingSignature, "the notification has no notificationItems, so no hmacSignature")
	}
	for i, ni := range b.NotificationItems {
		if ni.Item == nil {
			return nil, Reject(ReasonMissingSignature, "notificationItems[%d] has no NotificationRequestItem", i)
		}
		if scalarString(ni.Item.AdditionalData.HMACSignature) == "" {
			return nil, Reject(ReasonMissingSignature, "notificationItems[%d] has no additionalData.hmacSignature (enable HMAC signatures on the webhook in the Customer Area)", i)
		}
	}
	return &b, nil
}

func (s *adyen) Verify(r *Request) (Result, error) {
	b, err := parseAdyen(r.Body)
	if err != nil {
		return Result{}, err
	}
	ids := make([]string, len(b.NotificationItems))
	types := make([]string, len(b.NotificationItems))
	for i, ni := range b.NotificationItems {
		it := ni.Item
		sig, ok := decodeBase64(scalarString(it.AdditionalData.HMACSignature))
		if !ok {
			return Result{}, Reject(ReasonMalformedHeader, "notificationItems[%d].additionalData.hmacSignature is not base64", i)
		}
		if !matchAny(macs(sha256.New, s.keys, []byte(it.signedString())), [][]byte{sig}) {
			return Result{}, Reject(ReasonBadSignature, "notificationItems[%d] (of %d) matches none of the %d configured key(s); every item must verify", i, len(b.NotificationItems), len(s.keys))
		}
		psp, code := scalarString(it.PSPReference), scalarString(it.EventCode)
		if psp != "" && code != "" {
			ids[i] = psp + ":" + code + ":" + scalarString(it.Success)
		}
		types[i] = code
	}
	return Result{EventID: batchID(ids), EventType: batchType(types), Test: scalarString(b.Live) == "false"}, nil
}

// SignBody sets every item's additionalData.hmacSignature, made with the
// first key. The body is re-encoded (keys sorted, numbers as sent): the
// signature covers the item's fields, not the bytes.
func (s *adyen) SignBody(body []byte) ([]byte, error) {
	if len(s.keys) == 0 {
		return nil, fmt.Errorf("adyen: no secret")
	}
	typed, err := parseAdyenItems(body)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("adyen: the body is not a JSON object: %w", err)
	}
	items, _ := doc["notificationItems"].([]any)
	for i, raw := range items {
		wrapper, _ := raw.(map[string]any)
		item, _ := wrapper["NotificationRequestItem"].(map[string]any)
		if item == nil || i >= len(typed) {
			return nil, fmt.Errorf("adyen: notificationItems[%d] has no NotificationRequestItem object", i)
		}
		extra, _ := item["additionalData"].(map[string]any)
		if extra == nil {
			extra = map[string]any{}
			item["additionalData"] = extra
		}
		extra["hmacSignature"] = base64.StdEncoding.EncodeToString(mac(sha256.New, s.keys[0], []byte(typed[i].signedString())))
	}
	return json.Marshal(doc)
}

// parseAdyenItems decodes the items of a notification for signing.
func parseAdyenItems(body []byte) ([]*adyenItem, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var b adyenBody
	if err := dec.Decode(&b); err != nil || len(b.NotificationItems) == 0 {
		return nil, fmt.Errorf("adyen: the body is not a notification with notificationItems")
	}
	out := make([]*adyenItem, len(b.NotificationItems))
	for i, ni := range b.NotificationItems {
		if ni.Item == nil {
			return nil, fmt.Errorf("adyen: notificationItems[%d] has no NotificationRequestItem", i)
		}
		out[i] = ni.Item
	}
	return out, nil
}
