package web

// SetPasswordCheck replaces bcrypt's comparison, for tests that count
// password checks or hold them to make requests overlap.
func SetPasswordCheck(h *Handler, f func(hash, password []byte) error) { h.checkPassword = f }

// SafeNext is safeNext, for a table of hostile values.
var SafeNext = safeNext
