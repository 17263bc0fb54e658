package hookwatch

import "time"

// HandshakeSecret is a secret a provider handed over in the handshake of a
// source configured with none (Asana's X-Hook-Secret), kept so that later
// events can be verified with it. Trust on first use: the first handshake's
// secret is kept, and no other replaces it until an operator removes it
// (`hookwatch sources reset-handshake`).
type HandshakeSecret struct {
	Source    string
	Secret    string
	CreatedAt time.Time
}

// HandshakeSecretTable is the table handshake secrets are kept in: the
// additional data their sealed payload is bound to names it.
const HandshakeSecretTable = "handshake_secrets"

// InstallationKeyID is the key ID of a payload sealed under the
// installation key (a handshake secret kept while encryption.keys is not
// configured).
const InstallationKeyID = "installation"
