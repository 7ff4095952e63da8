/** Bad model inputs fail with a named error that says which, through the worker boundary. */
import { describe, expect, test } from 'vitest';
import {
  createEngine,
  MissingTensorError,
  ModelFetchError,
  ShapeMismatchError,
  TruncatedFileError,
  UnsupportedDtypeError,
  UnsupportedModelError,
  WorkerStartError,
} from '../../src/index';
import { writeSafetensors } from '../helpers/safetensors-writer';
import { fixtureFiles } from '../helpers/engine';

const base = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors'];

async function withConfig(edit: (cfg: Record<string, unknown>) => void): Promise<File[]> {
  const files = await fixtureFiles('llama', base);
  const cfg = JSON.parse(await files[0].text());
  edit(cfg);
  files[0] = new File([JSON.stringify(cfg)], 'config.json');
  return files;
}

describe('bad inputs', () => {
  test('unsupported architecture', async () => {
    const files = await withConfig((c) => {
      c.architectures = ['GPTNeoXForCausalLM'];
      c.model_type = 'gpt_neox';
    });
    const err = await createEngine({ model: files }).catch((e) => e);
    expect(err).toBeInstanceOf(UnsupportedModelError);
    expect(err.message).toMatch(/GPTNeoX|gpt_neox/);
  });

  test('missing tensor names the tensor', async () => {
    const files = await withConfig((c) => {
      c.num_hidden_layers = 3;
    });
    const err = await createEngine({ model: files }).catch((e) => e);
    expect(err).toBeInstanceOf(MissingTensorError);
    expect(err.message).toContain('model.layers.2.');
  });

  test('shape mismatch names tensor, expected and actual', async () => {
    const files = await withConfig((c) => {
      c.intermediate_size = 96;
    });
    const err = await createEngine({ model: files }).catch((e) => e);
    expect(err).toBeInstanceOf(ShapeMismatchError);
    expect(err.message).toMatch(/mlp\.(gate|up|down)_proj/);
  });

  test('truncated safetensors', async () => {
    const files = await fixtureFiles('llama', base);
    const st = files[3];
    files[3] = new File([st.slice(0, Math.floor(st.size * 0.6))], 'model.safetensors');
    const err = await createEngine({ model: files }).catch((e) => e);
    expect(err).toBeInstanceOf(TruncatedFileError);
    expect(err.message).toContain('model.safetensors');
  });

  test('wrong dtype', async () => {
    const files = await fixtureFiles('llama', base);
    files[3] = new File(
      [
        writeSafetensors([
          { name: 'model.embed_tokens.weight', dtype: 'I8', shape: [4], data: new Uint8Array(4) },
        ]) as Uint8Array<ArrayBuffer>,
      ],
      'model.safetensors',
    );
    const err = await createEngine({ model: files }).catch((e) => e);
    expect(err).toBeInstanceOf(UnsupportedDtypeError);
    expect(err.message).toMatch(/I8/);
  });

  test('a folder without config.json', async () => {
    const files = (await fixtureFiles('llama', base)).slice(1);
    await expect(createEngine({ model: files })).rejects.toBeInstanceOf(ModelFetchError);
  });

  test('a worker that cannot start is a WorkerStartError, not a hang', async () => {
    const worker = new Worker('/no-such-engine-worker.js', { type: 'module' });
    await expect(createEngine({ model: '/test/fixtures/models/llama/', worker })).rejects.toBeInstanceOf(WorkerStartError);
  });

  test('a URL that does not exist', async () => {
    await expect(createEngine({ model: '/test/fixtures/models/no-such-model/' })).rejects.toBeInstanceOf(ModelFetchError);
  });
});
