// Consumers: cleanrooms (an own bucket each), their key shown once at creation and at rotation.
import { useState, type FormEvent } from 'react';
import type { CleanroomListing } from '@atoll/market/listings';
import { call, type Problem } from '../api';
import { DataTable } from '../components/DataTable';
import { LoadState } from '../components/LoadState';
import { ProblemMessage } from '../components/ProblemMessage';
import { OnceSecret } from '../components/Secret';
import { asProblem, useLoad } from '../hooks';
import { when } from '../format';

interface CleanroomKey {
  id: string;
  bucket: string;
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export function CleanroomsPage() {
  const list = useLoad(() => call<{ cleanrooms: CleanroomListing[] }>('GET', '/v1/cleanrooms'), []);
  const [name, setName] = useState('');
  const [key, setKey] = useState<{ title: string; key: CleanroomKey } | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);

  async function create(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      const k = await call<CleanroomKey>('POST', '/v1/cleanrooms', { name: name.trim() });
      setKey({ title: `Key of cleanroom ${name.trim()}`, key: k });
      setName('');
      list.reload();
    } catch (err) {
      setProblem(asProblem(err));
    } finally {
      setBusy(false);
    }
  }

  async function rotate(id: string, cleanroom: string) {
    setBusy(true);
    setProblem(null);
    try {
      const k = await call<CleanroomKey>('POST', `/v1/cleanrooms/${id}/credentials`);
      setKey({ title: `New key of cleanroom ${cleanroom} (the old one no longer works)`, key: k });
    } catch (err) {
      setProblem(asProblem(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <h1>Cleanrooms</h1>
      <p className="muted">Each cleanroom is its own encrypted bucket. Its key reads only that bucket (and writes only under scratch/).</p>
      <form onSubmit={(e) => void create(e)} className="row">
        <label>
          New cleanroom name
          <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} />
        </label>
        <button type="submit" className="primary" disabled={busy}>
          Create cleanroom
        </button>
      </form>
      {problem ? <ProblemMessage problem={problem} /> : null}
      {key ? (
        <OnceSecret key={key.key.accessKeyId} title={key.title}>
          <dl className="kv">
            <dt>Endpoint</dt>
            <dd data-testid="cleanroom-endpoint">{key.key.endpoint}</dd>
            <dt>Region</dt>
            <dd data-testid="cleanroom-region">{key.key.region}</dd>
            <dt>Bucket</dt>
            <dd data-testid="cleanroom-bucket">{key.key.bucket}</dd>
            <dt>Access key id</dt>
            <dd>
              <code data-testid="cleanroom-key-id">{key.key.accessKeyId}</code>
            </dd>
            <dt>Secret access key</dt>
            <dd>
              <code data-testid="cleanroom-secret">{key.key.secretAccessKey}</code>
            </dd>
          </dl>
        </OnceSecret>
      ) : null}
      <LoadState state={list} what="cleanrooms">
        {(data) => (
          <DataTable
            label="Your cleanrooms"
            rows={data.cleanrooms}
            rowKey={(c) => c.id}
            empty={<p>No cleanroom yet.</p>}
            columns={[
              { header: 'Name', rowHeader: true, cell: (c) => c.name },
              { header: 'Bucket', cell: (c) => <code>{c.bucket}</code> },
              { header: 'Created', cell: (c) => when(c.createdAt) },
              {
                header: null,
                cell: (c) => (
                  <button type="button" onClick={() => void rotate(c.id, c.name)} disabled={busy}>
                    Rotate key of {c.name}
                  </button>
                ),
              },
            ]}
          />
        )}
      </LoadState>
    </>
  );
}
