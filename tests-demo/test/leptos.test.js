// Smoke test of the Leptos example (examples/leptos/); see ../lib/rust-chat.js.

import { rustChatTest } from '../lib/rust-chat.js'

rustChatTest({ name: 'Leptos', slug: 'leptos', siteEnv: 'LEPTOS_SITE_DIR' })
