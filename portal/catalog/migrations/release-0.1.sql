CREATE TABLE audit_log (
	id INTEGER NOT NULL, 
	at DATETIME NOT NULL, 
	actor VARCHAR(80) NOT NULL, 
	action VARCHAR(40) NOT NULL, 
	library VARCHAR(16), 
	target VARCHAR(200) NOT NULL, 
	"before" TEXT, 
	"after" TEXT, 
	PRIMARY KEY (id)
);
CREATE TABLE districts (
	code VARCHAR(16) NOT NULL, 
	name_az VARCHAR(200) NOT NULL, 
	name_kk VARCHAR(200) NOT NULL, 
	name_tr VARCHAR(200) NOT NULL, 
	name_ru VARCHAR(200) NOT NULL, 
	name_en VARCHAR(200) NOT NULL, 
	PRIMARY KEY (code)
);
CREATE TABLE donors (
	code VARCHAR(80) NOT NULL, 
	name_az VARCHAR(300) NOT NULL, 
	name_kk VARCHAR(300) NOT NULL, 
	name_tr VARCHAR(300) NOT NULL, 
	name_ru VARCHAR(300) NOT NULL, 
	name_en VARCHAR(300) NOT NULL, 
	PRIMARY KEY (code)
);
CREATE TABLE holding_events (
	id INTEGER NOT NULL, 
	record_id VARCHAR(64) NOT NULL, 
	library VARCHAR(16) NOT NULL, 
	kind VARCHAR(20) NOT NULL, 
	delta INTEGER NOT NULL, 
	donor VARCHAR(80), 
	event_date DATE NOT NULL, 
	source_key VARCHAR(300), 
	batch_id INTEGER, 
	note TEXT NOT NULL, 
	actor VARCHAR(120) NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT ck_event_kind CHECK (kind IN ('donation', 'correction', 'transfer_out', 'transfer_in', 'withdrawal')), 
	FOREIGN KEY(record_id) REFERENCES records (id), 
	FOREIGN KEY(library) REFERENCES libraries (code), 
	FOREIGN KEY(donor) REFERENCES donors (code), 
	FOREIGN KEY(batch_id) REFERENCES import_batches (id)
);
CREATE TABLE holdings (
	record_id VARCHAR(64) NOT NULL, 
	library VARCHAR(16) NOT NULL, 
	copies INTEGER NOT NULL, 
	version INTEGER NOT NULL, 
	first_added DATE NOT NULL, 
	last_added DATE NOT NULL, 
	PRIMARY KEY (record_id, library), 
	CONSTRAINT ck_copies_not_negative CHECK (copies >= 0), 
	UNIQUE (record_id, library), 
	FOREIGN KEY(record_id) REFERENCES records (id), 
	FOREIGN KEY(library) REFERENCES libraries (code)
);
CREATE TABLE import_batches (
	id INTEGER NOT NULL, 
	source TEXT NOT NULL, 
	sha256 VARCHAR(64) NOT NULL, 
	rows INTEGER NOT NULL, 
	imported_at DATETIME NOT NULL, 
	actor VARCHAR(120) NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE libraries (
	code VARCHAR(16) NOT NULL, 
	kind VARCHAR(40) NOT NULL, 
	district VARCHAR(16) NOT NULL, 
	name_az VARCHAR(300) NOT NULL, 
	name_kk VARCHAR(300) NOT NULL, 
	name_tr VARCHAR(300) NOT NULL, 
	name_ru VARCHAR(300) NOT NULL, 
	name_en VARCHAR(300) NOT NULL, 
	address VARCHAR(300) NOT NULL, 
	latitude FLOAT, 
	longitude FLOAT, 
	PRIMARY KEY (code), 
	FOREIGN KEY(district) REFERENCES districts (code)
);
CREATE TABLE records (
	id VARCHAR(64) NOT NULL, 
	title TEXT NOT NULL, 
	language VARCHAR(8) NOT NULL, 
	script VARCHAR(8) NOT NULL, 
	authors TEXT NOT NULL, 
	translators TEXT NOT NULL, 
	work VARCHAR(120) NOT NULL, 
	publisher TEXT NOT NULL, 
	year INTEGER, 
	isbn VARCHAR(13), 
	subjects TEXT NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	version INTEGER NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE schema_migrations (
	version INTEGER NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	applied_at DATETIME NOT NULL, 
	PRIMARY KEY (version)
);
CREATE TABLE users (
	id INTEGER NOT NULL, 
	name VARCHAR(80) NOT NULL, 
	password_hash VARCHAR(200) NOT NULL, 
	role VARCHAR(20) NOT NULL, 
	library VARCHAR(16), 
	disabled INTEGER NOT NULL, 
	failed_sign_ins INTEGER NOT NULL, 
	locked_until DATETIME, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT ck_user_role CHECK (role IN ('librarian', 'coordinator', 'admin')), 
	CONSTRAINT ck_librarian_library CHECK (role != 'librarian' OR library IS NOT NULL), 
	UNIQUE (name), 
	FOREIGN KEY(library) REFERENCES libraries (code)
);
CREATE INDEX ix_records_isbn ON records (isbn);
CREATE INDEX ix_records_work ON records (work);
CREATE INDEX ix_records_updated_at ON records (updated_at);
CREATE INDEX ix_events_record_library ON holding_events (record_id, library);
CREATE INDEX ix_events_source_key ON holding_events (source_key);
CREATE INDEX ix_holdings_library ON holdings (library);
CREATE INDEX ix_audit_library ON audit_log (library);
CREATE INDEX ix_audit_at ON audit_log (at);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
