// Smoke test of the Yew example (examples/yew/); see ../lib/rust-chat.js.

import { rustChatTest } from '../lib/rust-chat.js'

rustChatTest({ name: 'Yew', slug: 'yew', siteEnv: 'YEW_SITE_DIR' })
